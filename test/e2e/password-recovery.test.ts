import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { addCitizen, latestSmsCode, messageOf, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { addEnterprise } from '../support/enterprise.js';
import { beginAuthorization, type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Fa-Ren#2024';
const NEW_PASSWORD = 'Xin-Mi#2025';

/** A real-name citizen and an enterprise registered under them, its contact phone being theirs. */
async function enterpriseWithRepresentative(server: TestServer) {
  const creditCode = randomCreditCode();
  const { representative: rep } = await addEnterprise(server, {
    orgName: '福建某某科技有限公司',
    creditCode,
    password: PASSWORD,
    representativeName: '林则徐',
  });
  return { rep, creditCode };
}

/** The 忘记密码 link of the login page's tab (自然人 or 法人). */
async function forgotPage(ua: UserAgent, server: TestServer, rp: RelyingParty, tab: 'person' | 'legal') {
  const { page } = await beginAuthorization(ua, rp);
  const login = tab === 'legal' ? await ua.get(`${page.url}?tab=legal`) : page;
  const href = /href="([^"]+\/forgot[^"]*)"/.exec(login.body)![1]!;
  return ua.get(new URL(href.replaceAll('&amp;', '&'), server.url));
}

const signsIn = async (rp: RelyingParty, login: string, password: string, tab?: 'legal') => {
  const ua = new UserAgent();
  const { page } = await beginAuthorization(ua, rp);
  const form = tab === 'legal' ? await ua.get(`${page.url}?tab=legal`) : page;
  const res = await submit(
    ua,
    form,
    tab === 'legal' ? '/login-legal' : '/login',
    { login, password },
    rp.redirectUri,
  );
  return res.location?.startsWith(rp.redirectUri) ?? false;
};

describe.each(databaseKinds())('忘记密码 in the guide’s three steps (%s)', (kind) => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.close());

  /** Step 1 (login + 图片验证码 → 下一步) on the page `forgot`, answering the step-2 page. */
  async function identify(ua: UserAgent, forgot: PageResponse, fields: Record<string, string>) {
    return submit(ua, forgot, '/forgot', { ...fields, captcha: await solveCaptcha(ua, server, forgot) });
  }

  it('an enterprise clerk recovers the enterprise’s password by its credit code; the representative’s own account is untouched', async () => {
    const { rep, creditCode } = await enterpriseWithRepresentative(server);
    const ua = new UserAgent();
    const forgot = await forgotPage(ua, server, rp, 'legal');
    expect(forgot.body).toContain('统一社会信用代码');
    expect(forgot.body).not.toContain('手机号码');

    const codeStep = await identify(ua, forgot, { credit_code: creditCode });
    expect(codeStep.body).toContain('短信验证码');
    const passwordStep = await submit(ua, codeStep, '/forgot/code', {
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    expect(passwordStep.body).toContain('8至64个字符');
    const login = await submit(ua, passwordStep, '/forgot/password', {
      password: NEW_PASSWORD,
      password_confirm: NEW_PASSWORD,
    });
    // Back at 法人用户登录 with the credit code filled in.
    expect(messageOf(login)).toBe('密码已重置，请使用新密码登录');
    expect(login.body).toContain(`value="${creditCode}"`);
    expect(login.body).toContain('action="/interaction/');
    expect(login.body).toMatch(/login-legal/);

    expect(await signsIn(rp, creditCode, NEW_PASSWORD, 'legal')).toBe(true);
    // The representative's personal password is what it was.
    expect(await signsIn(rp, rep.phone, PASSWORD)).toBe(true);
    expect(await signsIn(rp, rep.phone, NEW_PASSWORD)).toBe(false);
  });

  it('the 自然人 path with the representative’s phone resets that person’s own account only, never the enterprise', async () => {
    const { rep, creditCode } = await enterpriseWithRepresentative(server);
    const ua = new UserAgent();
    const forgot = await forgotPage(ua, server, rp, 'person');
    const codeStep = await identify(ua, forgot, { phone: rep.phone });
    const passwordStep = await submit(ua, codeStep, '/forgot/code', {
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    const login = await submit(ua, passwordStep, '/forgot/password', {
      password: NEW_PASSWORD,
      password_confirm: NEW_PASSWORD,
    });
    expect(messageOf(login)).toBe('密码已重置，请使用新密码登录');
    expect(login.body).toContain(`value="${rep.phone}"`);
    expect(await signsIn(rp, rep.phone, NEW_PASSWORD)).toBe(true);
    expect(await signsIn(rp, creditCode, PASSWORD, 'legal')).toBe(true);
  });

  it('a weak password does not spend the SMS code: the verified step stays until a good one is accepted', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const forgot = await forgotPage(ua, server, rp, 'person');
    const codeStep = await identify(ua, forgot, { phone });
    const wrong = await submit(ua, codeStep, '/forgot/code', { sms_code: '000000' });
    expect(messageOf(wrong)).toBe('短信验证码错误或已过期');
    const passwordStep = await submit(ua, wrong, '/forgot/code', {
      sms_code: (await latestSmsCode(server, phone))!,
    });

    const weak = await submit(ua, passwordStep, '/forgot/password', {
      password: '12345678',
      password_confirm: '12345678',
    });
    expect(weak.status).toBe(400);
    expect(messageOf(weak)).toContain('密码');
    const mismatch = await submit(ua, weak, '/forgot/password', {
      password: NEW_PASSWORD,
      password_confirm: 'other',
    });
    expect(messageOf(mismatch)).toBe('两次输入的密码不一致');
    // Reloading the step (a GET) still shows it: the verified code is remembered server-side.
    const reloaded = await ua.get(passwordStep.url);
    expect(reloaded.body).toContain('新密码');
    const done = await submit(ua, reloaded, '/forgot/password', {
      password: NEW_PASSWORD,
      password_confirm: NEW_PASSWORD,
    });
    expect(messageOf(done)).toBe('密码已重置，请使用新密码登录');
    expect(await signsIn(rp, phone, NEW_PASSWORD)).toBe(true);

    // The finished flow can not set a password again.
    const again = await ua.get(passwordStep.url);
    expect(again.body).not.toContain('name="password"');
  });

  it('answers an unknown phone or credit code exactly as a registered one', async () => {
    // Two enterprises: one phone asked twice within a minute would meet the re-send interval.
    const { rep } = await enterpriseWithRepresentative(server);
    const { creditCode } = await enterpriseWithRepresentative(server);
    const answers: string[] = [];
    for (const [tab, fields] of [
      ['person', { phone: rep.phone }],
      ['person', { phone: '13912345678' }],
      ['legal', { credit_code: creditCode }],
      ['legal', { credit_code: randomCreditCode() }],
    ] as const) {
      const ua = new UserAgent();
      const step = await identify(ua, await forgotPage(ua, server, rp, tab), fields);
      const wrong = await submit(ua, step, '/forgot/code', { sms_code: '123456' });
      // 重新发送 within the minute: the same wait, whether or not a code really went out.
      const resent = await submit(ua, wrong, '/forgot/code', { action: 'resend' });
      answers.push(
        `${step.status} ${messageOf(step).replace(/\d{3}\*{4}\d{4}/, 'PHONE')} / ${wrong.status} ${messageOf(wrong)} / ${resent.status} ${messageOf(resent).replace(/\d+秒/, 'N秒')}`,
      );
    }
    expect(answers[0]).toContain('/ 429 请在N秒后重新获取验证码');
    expect(answers[1]).toBe(answers[0]);
    expect(answers[3]).toBe(answers[2]);
  });
});
