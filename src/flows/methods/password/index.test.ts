import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, randomIdNumber } from '../../../../test/support/citizen.js';
import {
  type Browser,
  LOGIN_REFUSED,
  type MethodBench,
  openMethodBench,
} from '../../../../test/support/method-bench.js';
import { randomPhone } from '../../../../test/support/relying-party.js';
import { PASSWORD_LOCK } from '../../../accounts/account-service.js';
import { parseCreditCode } from '../../../identifiers/credit-code.js';
import { LIMITS } from '../../../ops/rate-limiter.js';
import { passwordMethod } from './index.js';

const PASSWORD = 'Fz-citizen#2026';

let bench: MethodBench;
let deps: ReturnType<typeof passwordMethod.deps>;
const form = passwordMethod.form!;
const stepUp = passwordMethod.stepUp!;

beforeAll(async () => {
  bench = await openMethodBench();
  deps = bench.depsOf(passwordMethod);
});
afterAll(() => bench?.close());

const post = (browser: Browser, fields: Record<string, string>) => browser.post(form, deps, fields);

/** The picture's text for this browser, as the captcha page would draw it. */
async function solveCaptcha(browser: Browser): Promise<string> {
  await bench.services.captcha.issue(browser.id);
  return (await bench.services.captcha.currentAnswer(browser.id))!;
}

async function failures(accountId: string) {
  return bench.database.db('audit_events').where({ account_id: accountId, outcome: 'failure' });
}

describe('密码登录 proves a password', () => {
  it('signs in with the phone (however it is spelled) or the verified ID number, with amr pwd at acr basic', async () => {
    const idNumber = randomIdNumber();
    const { phone, id } = await addCitizen(bench, PASSWORD, { realName: '林小梅', idNumber });
    for (const login of [
      phone,
      `+86 ${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}`,
      idNumber,
    ]) {
      const { proven, error } = await post(bench.browser(), { login, password: PASSWORD });
      expect(error, login).toBeUndefined();
      expect(proven).toMatchObject({ accountId: id, verified: ['pwd'], method: 'password' });
    }
    const { proven } = await post(bench.browser(), { login: phone, password: PASSWORD });
    if (typeof proven !== 'object') throw new Error('not proven');
    const { result } = await bench.signIn(proven);
    expect(result?.login).toMatchObject({ accountId: id, acr: 'urn:unified-id:acr:basic', amr: ['pwd'] });
  });

  it('refuses a wrong password, an unknown phone or ID number, an empty field and a disabled account alike', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    const disabled = await addCitizen(bench, PASSWORD);
    await bench.services.accounts.setStatus(disabled.id, 'locked');
    const attempts = [
      { login: phone, password: `${PASSWORD}x` },
      { login: phone, password: PASSWORD.toLowerCase() },
      { login: randomPhone(), password: PASSWORD },
      { login: randomIdNumber(), password: PASSWORD },
      { login: phone, password: '' },
      { login: '', password: PASSWORD },
      { login: disabled.phone, password: PASSWORD },
    ];
    for (const fields of attempts) {
      const { error } = await post(bench.browser(), fields);
      expect(error, JSON.stringify(fields)).toMatchObject(LOGIN_REFUSED);
    }
    // Each refusal is in the account's 登录记录 when there is an account.
    expect(await failures(id)).toHaveLength(3);
    expect(await failures(disabled.id)).toHaveLength(1);
  });

  it('says a login with a wrong check character is mistyped: public arithmetic, no account consulted', async () => {
    const idNumber = randomIdNumber();
    // Another last character, but not one that happens to make a valid credit code too (about one
    // in 300 do): an all-digit credit code is a login of its own, not an ID number with a typo.
    const mistyped = [...'0123456789X']
      .map((last) => idNumber.slice(0, -1) + last)
      .find((login) => login !== idNumber && !parseCreditCode(login).ok);
    const { error } = await post(bench.browser(), { login: mistyped!, password: PASSWORD });
    expect(error).toMatchObject({ name: 'FormInvalid', code: 'login_mistyped' });
  });

  it('asks for the captcha after three failures of one login, an unknown one too, and forgets them after a success', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    for (const login of [phone, randomPhone()]) {
      const seen = [];
      for (let i = 0; i < 3; i++) {
        // A new browser and address each time: the count follows the login string.
        const { error, page } = await post(bench.browser(), { login, password: 'wrong-password-1' });
        expect(error).toMatchObject(LOGIN_REFUSED);
        seen.push(page['captchaRequired']);
      }
      expect(seen).toEqual([false, false, true]);
      const browser = bench.browser();
      const missing = await post(browser, { login, password: PASSWORD });
      expect(missing.error).toMatchObject({ name: 'CaptchaMissing' });
      expect(missing.page['captchaRequired']).toBe(true);
      await solveCaptcha(browser);
      const wrong = await post(browser, { login, password: PASSWORD, captcha: 'ZZZZ' });
      expect(wrong.error).toMatchObject({ name: 'CaptchaWrong' });
    }
    // Another browser's answer is no answer for this one.
    const browser = bench.browser();
    const elsewhere = await solveCaptcha(bench.browser());
    await solveCaptcha(browser);
    expect(
      (await post(browser, { login: phone, password: PASSWORD, captcha: elsewhere })).error,
    ).toMatchObject({
      name: 'CaptchaWrong',
    });
    const right = await post(browser, {
      login: phone,
      password: PASSWORD,
      captcha: await solveCaptcha(browser),
    });
    expect(right.proven).toMatchObject({ accountId: id });
    expect((await post(bench.browser(), { login: phone, password: PASSWORD })).proven).toMatchObject({
      accountId: id,
    });
  });

  it(`locks the password path after ${PASSWORD_LOCK.after} wrong passwords: the right one is then refused the same way`, async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    const browser = bench.browser();
    for (let i = 0; i < PASSWORD_LOCK.after; i++) {
      const captcha = i >= 3 ? await solveCaptcha(browser) : '';
      const { error } = await post(browser, { login: phone, password: `wrong-${i}`, captcha });
      expect(error).toMatchObject(LOGIN_REFUSED);
    }
    const locked = await post(browser, {
      login: phone,
      password: PASSWORD,
      captcha: await solveCaptcha(browser),
    });
    expect(locked.error).toMatchObject(LOGIN_REFUSED);
    const account = await bench.services.accounts.find(id);
    expect(new Date(account!.password_locked_until!).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
    // An operator's 清除登录失败计数 opens it again.
    await bench.services.accounts.clearPasswordFailures(id);
    const reopened = await post(browser, {
      login: phone,
      password: PASSWORD,
      captcha: await solveCaptcha(browser),
    });
    expect(reopened.proven).toMatchObject({ accountId: id });
  });

  it(`refuses more than ${LIMITS.loginPerAccount.max} attempts on one login in the window, from any address`, async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    let refusal: unknown;
    for (let i = 0; i <= LIMITS.loginPerAccount.max && !refusal; i++) {
      const browser = bench.browser();
      const captcha = i >= 3 ? await solveCaptcha(browser) : '';
      // An empty password costs the server no hashing, and still counts.
      const { error } = await post(browser, { login: phone, password: '', captcha });
      if (error && (error as { name: string }).name !== 'LoginFailed') refusal = error;
    }
    expect(refusal).toMatchObject({ name: 'TooManyRequests', status: 429 });
    const browser = bench.browser();
    const right = await post(browser, {
      login: phone,
      password: PASSWORD,
      captcha: await solveCaptcha(browser),
    });
    expect(right.error).toMatchObject({ name: 'TooManyRequests' });
  });
});

describe('密码 on the step-up page', () => {
  it('passes with the account’s password, and refuses another as a failed sign-in of that account', async () => {
    const { id } = await addCitizen(bench, PASSWORD);
    const account = (await bench.services.accounts.find(id))!;
    expect(stepUp.available(account)).toBe(true);
    const ok = bench.browser().stepUp({ password: PASSWORD }, account);
    await expect(stepUp.prove(ok.submission, deps)).resolves.toBeUndefined();
    const wrong = bench.browser().stepUp({ password: `${PASSWORD}!` }, account);
    await expect(stepUp.prove(wrong.submission, deps)).rejects.toMatchObject(LOGIN_REFUSED);
    expect(await failures(id)).toMatchObject([{ method: 'step_up_pwd' }]);
  });
});
