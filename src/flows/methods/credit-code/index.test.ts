import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../../../../test/support/citizen.js';
import { addEnterprise } from '../../../../test/support/enterprise.js';
import {
  type Browser,
  LOGIN_REFUSED,
  type MethodBench,
  openMethodBench,
} from '../../../../test/support/method-bench.js';
import { randomCreditCode } from '../../../pki/test-support.js';
import { creditCodeMethod } from './index.js';

const PASSWORD = 'Fz-enterprise#2026';

let bench: MethodBench;
let deps: ReturnType<typeof creditCodeMethod.deps>;
const form = creditCodeMethod.form!;

beforeAll(async () => {
  bench = await openMethodBench();
  deps = bench.depsOf(creditCodeMethod);
});
afterAll(() => bench?.close());

const post = (browser: Browser, fields: Record<string, string>) => browser.post(form, deps, fields);

async function enterprise() {
  const creditCode = randomCreditCode();
  const { accountId, representative } = await addEnterprise(bench, {
    orgName: '福州某某科技有限公司',
    creditCode,
    password: PASSWORD,
  });
  return { creditCode, accountId, representative };
}

describe('统一社会信用代码登录 proves a legal person’s password', () => {
  it('signs the enterprise in by its credit code, in either case, with amr pwd at acr basic', async () => {
    const { creditCode, accountId } = await enterprise();
    for (const login of [creditCode, creditCode.toLowerCase(), ` ${creditCode} `]) {
      const { proven, error } = await post(bench.browser(), { login, password: PASSWORD });
      expect(error, login).toBeUndefined();
      expect(proven).toMatchObject({ accountId, verified: ['pwd'] });
    }
    const { proven } = await post(bench.browser(), { login: creditCode, password: PASSWORD });
    if (typeof proven !== 'object') throw new Error('not proven');
    const { result } = await bench.signIn(proven);
    expect(result?.login).toMatchObject({ accountId, acr: 'urn:unified-id:acr:basic', amr: ['pwd'] });
  });

  it('refuses a wrong password, an unknown code, a citizen’s phone and a disabled enterprise alike', async () => {
    const { creditCode, accountId } = await enterprise();
    const disabled = await enterprise();
    await bench.services.accounts.setStatus(disabled.accountId, 'locked');
    const citizen = await addCitizen(bench, PASSWORD);
    const attempts = [
      { login: creditCode, password: `${PASSWORD}x` },
      { login: creditCode, password: '' },
      { login: randomCreditCode(), password: PASSWORD },
      // This tab is for legal persons: a citizen's login names no account here.
      { login: citizen.phone, password: PASSWORD },
      { login: disabled.creditCode, password: PASSWORD },
    ];
    for (const fields of attempts) {
      const { error } = await post(bench.browser(), fields);
      expect(error, JSON.stringify(fields)).toMatchObject(LOGIN_REFUSED);
    }
    expect(
      await bench.database.db('audit_events').where({ account_id: accountId, outcome: 'failure' }),
    ).toHaveLength(2);
  });

  it('says a credit code with a wrong check character is mistyped, beside the credit-code field', async () => {
    const code = randomCreditCode();
    const other = code.endsWith('0') ? '1' : '0';
    const { error } = await post(bench.browser(), { login: code.slice(0, -1) + other, password: PASSWORD });
    expect(error).toMatchObject({
      name: 'FormInvalid',
      code: 'login_mistyped',
      problems: [{ field: 'credit_code_login' }],
    });
  });

  it('asks for the captcha after three failures of one credit code, as for a citizen’s password', async () => {
    const { creditCode, accountId } = await enterprise();
    const seen = [];
    for (let i = 0; i < 3; i++)
      seen.push(
        (await post(bench.browser(), { login: creditCode, password: 'wrong' })).page['captchaRequired'],
      );
    expect(seen).toEqual([false, false, true]);
    const browser = bench.browser();
    expect((await post(browser, { login: creditCode, password: PASSWORD })).error).toMatchObject({
      name: 'CaptchaMissing',
    });
    await bench.services.captcha.issue(browser.id);
    const captcha = (await bench.services.captcha.currentAnswer(browser.id))!;
    expect((await post(browser, { login: creditCode, password: PASSWORD, captcha })).proven).toMatchObject({
      accountId,
    });
  });
});
