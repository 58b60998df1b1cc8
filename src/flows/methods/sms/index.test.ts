import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../../../../test/support/citizen.js';
import { type Browser, type MethodBench, openMethodBench } from '../../../../test/support/method-bench.js';
import { randomPhone } from '../../../../test/support/relying-party.js';
import { listOutbox } from '../../../outside/sms/dev-outbox.js';
import { ANSWERED } from '../login-method.js';
import { smsMethod } from './index.js';

const PASSWORD = 'Fz-citizen#2026';
/** What a code that is not the one sent to this phone for this purpose says, whatever the reason. */
const WRONG = {
  name: 'SmsCodeWrong',
  status: 400,
  code: 'sms_code_wrong',
  userMessage: '短信验证码错误或已过期',
};

let bench: MethodBench;
let deps: ReturnType<typeof smsMethod.deps>;
const form = smsMethod.form!;
const stepUp = smsMethod.stepUp!;

beforeAll(async () => {
  bench = await openMethodBench();
  deps = bench.depsOf(smsMethod);
});
afterAll(() => bench?.close());

const e164 = (phone: string) => `+86${phone}`;

/** The picture's text for this browser, as the captcha page would draw it. */
async function solveCaptcha(browser: Browser): Promise<string> {
  await bench.services.captcha.issue(browser.id);
  return (await bench.services.captcha.currentAnswer(browser.id))!;
}

/** 获取验证码 on the 短信验证码登录 form, the captcha answered. */
async function sendCode(browser: Browser, phone: string) {
  const call = browser.submission({ action: 'send_sms', phone, captcha: await solveCaptcha(browser) });
  expect(await form.prove(call.submission, deps)).toBe(ANSWERED);
  return call.sent;
}

/** The newest code the phone received, if any. */
async function received(phone: string): Promise<string | null | undefined> {
  return (await listOutbox(bench.database.db, e164(phone), 1))[0]?.code;
}

/** 登录 with the code typed; a refusal is thrown. */
function logIn(browser: Browser, phone: string, code: string) {
  return form.prove(browser.submission({ phone, sms_code: code }).submission, deps);
}

const someoneElses = (code: string) => (code === '000000' ? '000001' : '000000');

describe('短信验证码登录 proves the phone', () => {
  it('sends a code to a registered number only, answering an unknown number the same way', async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    const stranger = randomPhone();
    const answers = [];
    for (const number of [phone, stranger]) answers.push(...(await sendCode(bench.browser(), number)));
    expect(answers.map((a) => a.target)).toEqual([`login:${e164(phone)}`, `login:${e164(stranger)}`]);
    const masked = answers.map((a) => a.notice.replace(/\d{3}\*{4}\d{4}/, '<masked>'));
    expect(masked[0]).toBe(masked[1]);
    expect(masked[0]).toMatch(/^如该手机号已注册，验证码已发送至 <masked>，5分钟内有效$/);
    expect(await received(phone)).toMatch(/^\d{6}$/);
    expect(await received(stranger)).toBeUndefined();
  });

  it('sends nothing without the captcha, or with another browser’s answer', async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    const browser = bench.browser();
    await expect(
      form.prove(browser.submission({ action: 'send_sms', phone, captcha: '' }).submission, deps),
    ).rejects.toMatchObject({ name: 'CaptchaMissing' });
    const elsewhere = await solveCaptcha(bench.browser());
    await solveCaptcha(browser);
    await expect(
      form.prove(browser.submission({ action: 'send_sms', phone, captcha: elsewhere }).submission, deps),
    ).rejects.toMatchObject({ name: 'CaptchaWrong' });
    expect(await received(phone)).toBeUndefined();
  });

  it('signs in with the code sent, once, with amr sms at acr basic', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    await sendCode(bench.browser(), phone);
    const code = (await received(phone))!;
    // Typed on another browser than the one that asked: the code is the phone's, not the browser's.
    const proven = await logIn(bench.browser(), phone, code);
    expect(proven).toMatchObject({ accountId: id, verified: ['sms'], method: 'sms' });
    expect(proven).not.toHaveProperty('notice');
    if (proven === ANSWERED) throw new Error('not a sign-in');
    const { result } = await bench.signIn(proven);
    expect(result?.login).toMatchObject({ accountId: id, acr: 'urn:unified-id:acr:basic', amr: ['sms'] });
    await expect(logIn(bench.browser(), phone, code)).rejects.toMatchObject(WRONG);
  });

  it('refuses a wrong code, a code for another number or purpose, and an unknown number alike', async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    const other = await addCitizen(bench, PASSWORD);
    const stranger = randomPhone();
    for (const number of [phone, other.phone, stranger]) await sendCode(bench.browser(), number);
    const code = (await received(phone))!;
    await bench.services.sms.send({ phone: e164(other.phone), purpose: 'reset_password', ip: '10.78.0.1' });
    const resetCode = (await received(other.phone))!;
    const attempts: [string, string][] = [
      [phone, someoneElses(code)],
      [other.phone, code],
      [other.phone, resetCode],
      [stranger, code],
      [randomPhone(), code],
    ];
    for (const [number, typed] of attempts)
      await expect(logIn(bench.browser(), number, typed), `${number} ${typed}`).rejects.toMatchObject(WRONG);
    // None of those spent the right code.
    await expect(logIn(bench.browser(), phone, code)).resolves.toMatchObject({ verified: ['sms'] });
  });

  it('lets a code be guessed five times at most: the right one after five wrong is refused', async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    await sendCode(bench.browser(), phone);
    const code = (await received(phone))!;
    for (let i = 0; i < 5; i++)
      await expect(logIn(bench.browser(), phone, someoneElses(code))).rejects.toMatchObject(WRONG);
    await expect(logIn(bench.browser(), phone, code)).rejects.toMatchObject(WRONG);
  });

  it('says an expired code has expired, for a registered and an unknown number alike', async () => {
    const { phone } = await addCitizen(bench, PASSWORD);
    const stranger = randomPhone();
    for (const number of [phone, stranger]) await sendCode(bench.browser(), number);
    const code = (await received(phone))!;
    await bench.database
      .db('sms_codes')
      .whereIn('phone', [e164(phone), e164(stranger)])
      .update({ expires_at: new Date(Date.now() - 1000) });
    for (const number of [phone, stranger])
      await expect(logIn(bench.browser(), number, code)).rejects.toMatchObject({
        name: 'SmsCodeExpired',
        status: 400,
      });
  });

  it('proves a disabled account’s phone, but the sign-in stops at the common door', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    await bench.services.accounts.setStatus(id, 'locked');
    await sendCode(bench.browser(), phone);
    const proven = await logIn(bench.browser(), phone, (await received(phone))!);
    if (proven === ANSWERED) throw new Error('not a sign-in');
    await expect(bench.signIn(proven)).rejects.toMatchObject({ name: 'AccountUnavailable', status: 403 });
    expect(
      await bench.database.db('audit_events').where({ account_id: id, method: 'sms', outcome: 'failure' }),
    ).toMatchObject([{ detail: { reason: 'account_locked' } }]);
  });

  it('signs in while the password path is locked, and only then says it is locked', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    const until = new Date(Date.now() + 20 * 60_000);
    await bench.database
      .db('accounts')
      .where({ id })
      .update({ failed_logins: 10, password_locked_until: until });
    await sendCode(bench.browser(), phone);
    const proven = await logIn(bench.browser(), phone, (await received(phone))!);
    expect(proven).toMatchObject({
      accountId: id,
      verified: ['sms'],
      notice: { title: '密码登录已锁定', message: expect.stringContaining('本次短信验证码登录不受影响') },
    });
  });
});

describe('短信验证码 on the step-up page', () => {
  it('sends to the signed-in account’s own phone and passes with that code only', async () => {
    const { phone, id } = await addCitizen(bench, PASSWORD);
    const account = (await bench.services.accounts.find(id))!;
    expect(stepUp.available(account)).toBe(true);
    const send = bench.browser().stepUp({ action: 'send_sms' }, account);
    expect(await stepUp.prove(send.submission, deps)).toBe(ANSWERED);
    expect(send.sent).toEqual([{ target: 'step_up', notice: expect.stringContaining(phone.slice(-4)) }]);
    const code = (await received(phone))!;
    // A sign-in code for the same phone is not a step-up code.
    await sendCode(bench.browser(), phone);
    const loginCode = (await received(phone))!;
    for (const typed of [someoneElses(code), loginCode].filter((c) => c !== code))
      await expect(
        stepUp.prove(bench.browser().stepUp({ sms_code: typed }, account).submission, deps),
      ).rejects.toMatchObject(WRONG);
    await expect(
      stepUp.prove(bench.browser().stepUp({ sms_code: code }, account).submission, deps),
    ).resolves.toBeUndefined();
  });
});
