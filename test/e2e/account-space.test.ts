import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackchannelReceiver, startBackchannelReceiver } from '../support/backchannel-receiver.js';
import {
  addCitizen,
  latestSmsCode,
  messageOf,
  randomIdNumber,
  solveCaptcha,
  submit,
} from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  type RelyingParty,
  randomPhone,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { previousTotpCode } from '../support/totp.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Han-Xin#2024';

describe.each(databaseKinds())('用户空间 (%s)', (kind) => {
  let server: TestServer;
  let receiver: BackchannelReceiver;
  let site: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    receiver = await startBackchannelReceiver();
    site = await registerRelyingParty(server, { backchannelLogoutUri: receiver.url });
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.close();
  });

  /** Opens /account: through the provider's login page when not yet signed in. */
  async function openAccount(
    ua: UserAgent,
    phone: string,
    password = PASSWORD,
    path = '/account',
  ): Promise<PageResponse> {
    let page = await ua.follow(await ua.get(`${server.url}${path}`));
    if (page.body.includes('手机号码/身份证号码')) {
      page = await submit(ua, page, '/login', { login: phone, password });
    }
    return page;
  }

  const post = (ua: UserAgent, page: PageResponse, action: string, fields: Record<string, string> = {}) =>
    submit(ua, page, action, fields);

  it('shows the basic information masked, and whole only after the password again', async () => {
    const idNumber = randomIdNumber();
    const { phone } = await addCitizen(server, PASSWORD, { realName: '韩信', idNumber });
    const ua = new UserAgent();
    const page = await openAccount(ua, phone);
    expect(page.body).toContain(`${phone.slice(0, 3)}****${phone.slice(7)}`);
    expect(page.body).toContain('韩*');
    expect(page.body).toContain(`${idNumber.slice(0, 4)}**********${idNumber.slice(14)}`);
    expect(page.body).not.toContain(idNumber);
    const wrong = await post(ua, page, '/account/reveal', { password: 'nope-nope-1' });
    expect(messageOf(wrong)).toBe('密码错误');
    const revealed = await post(ua, page, '/account/reveal', { password: PASSWORD });
    expect(revealed.body).toContain(idNumber);
    expect(revealed.body).toContain('韩信');
  });

  it('raises an L1 account to L2 with an SMS code and then name + ID number', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const level = await openAccount(ua, phone, PASSWORD, '/account/level');
    const sent = await post(ua, level, '/account/level/send-sms');
    const expired = await post(ua, sent, '/account/level/check-sms', { sms_code: '000000' });
    expect(messageOf(expired)).toBe('短信验证码错误或已过期');
    const checked = await post(ua, sent, '/account/level/check-sms', {
      sms_code: (await latestSmsCode(server, phone))!,
    });
    const done = await post(ua, checked, '/account/level/verify', {
      real_name: '萧何',
      id_number: randomIdNumber(),
    });
    expect(done.body).toContain('实名认证成功');
    expect(done.body).toContain('<strong id="level">实名用户（L2）</strong>');
  });

  it('changes the password: the current one is required, and other sessions end with back-channel logout', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const elsewhere = new UserAgent();
    const { tokens } = await signIn(elsewhere, site, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid offline_access', prompt: 'consent' },
    });
    const before = receiver.tokens.length;
    const ua = new UserAgent();
    const security = await openAccount(ua, phone, PASSWORD, '/account/security');
    const wrong = await post(ua, security, '/account/security/password', {
      current_password: 'Wrong#Pass1',
      new_password: 'Cao-Can#2025',
      new_password_confirm: 'Cao-Can#2025',
    });
    expect(messageOf(wrong)).toBe('当前密码错误');
    const done = await post(ua, security, '/account/security/password', {
      current_password: PASSWORD,
      new_password: 'Cao-Can#2025',
      new_password_confirm: 'Cao-Can#2025',
    });
    expect(messageOf(done)).toBe('修改成功');
    expect((await receiver.waitFor(before + 1)).length).toBe(before + 1);
    const silent = await authorize(elsewhere, site, { params: { prompt: 'none' } });
    expect(silent.callbackUrl?.searchParams.get('error')).toBe('login_required');
    // The other device's site can not carry on with its refresh token either.
    await expect(oidc.refreshTokenGrant(site.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // This session stays.
    expect((await ua.get(`${server.url}/account`)).status).toBe(200);
  });

  it('turns two-step verification on; password login then asks for the code and the session is mfa', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const security = await openAccount(ua, phone, PASSWORD, '/account/security');
    // Turning it on asks for the password again.
    const noPassword = await post(ua, security, '/account/security/totp/start', { password: 'Wrong-Pass#9' });
    expect(messageOf(noPassword)).toBe('当前密码错误');
    expect(noPassword.body).not.toContain('data:image/png;base64,');
    const setup = await post(ua, noPassword, '/account/security/totp/start', { password: PASSWORD });
    expect(setup.body).toContain('data:image/png;base64,');
    const wrong = await post(ua, setup, '/account/security/totp/confirm', { code: '000000' });
    expect(messageOf(wrong)).toBe('动态验证码或恢复码错误');
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(wrong.body)![1]!;
    const done = await post(ua, wrong, '/account/security/totp/confirm', {
      code: await previousTotpCode(secret),
    });
    const codes = [...done.body.matchAll(/<code>([0-9A-F]{5}-[0-9A-F]{5})<\/code>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);

    // Signing in at a site: password, then the TOTP page.
    const fresh = new UserAgent();
    const outcome = await authorize(fresh, site, { login: { login: phone, password: PASSWORD } });
    expect(outcome.response.body).toContain('两步验证');
    const badCode = await submit(fresh, outcome.response, '/totp', { code: '123456' });
    expect(messageOf(badCode)).toBe('动态验证码或恢复码错误');
    const back = await submit(fresh, badCode, '/totp', { code: codes[0]! }, site.redirectUri);
    let res = back;
    if (!res.location?.startsWith(site.redirectUri)) {
      res = await submit(fresh, res, '/confirm', { decision: 'allow' }, site.redirectUri);
    }
    const tokens = await oidc.authorizationCodeGrant(site.config, new URL(res.location!), {
      pkceCodeVerifier: outcome.verifier,
      expectedState: outcome.state,
    });
    expect(tokens.claims()!.acr).toBe('urn:unified-id:acr:mfa');
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);

    // A recovery code works once.
    const third = new UserAgent();
    const again = await authorize(third, site, { login: { login: phone, password: PASSWORD } });
    const reused = await submit(third, again.response, '/totp', { code: codes[0]! });
    expect(messageOf(reused)).toBe('动态验证码或恢复码错误');
    const second = await submit(third, reused, '/totp', { code: codes[1]! }, site.redirectUri);
    expect(second.location ?? '').toContain('rp.example.gov.cn');

    // Off again with the password and a current code.
    const settings = await ua.get(`${server.url}/account/security`);
    const off = await post(ua, settings, '/account/security/totp/disable', {
      password: PASSWORD,
      code: await generate({ secret }),
    });
    expect(off.body).toContain('未开启');
  });

  it('accepts a TOTP code once, regenerates recovery codes only after the password, and caps wrong codes', async () => {
    const { phone, id } = await addCitizen(server, PASSWORD);
    const { secret } = await server.services.totp.beginEnrolment(id, 'test');
    const initial = await server.services.totp.confirmEnrolment(id, await previousTotpCode(secret));

    // The code of this time-step signs in once; the same code in another browser is refused.
    const first = new UserAgent();
    const one = await authorize(first, site, { login: { login: phone, password: PASSWORD } });
    const code = await generate({ secret });
    let used = await submit(first, one.response, '/totp', { code }, site.redirectUri);
    if (!used.location?.startsWith(site.redirectUri)) {
      used = await submit(first, used, '/confirm', { decision: 'allow' }, site.redirectUri);
    }
    expect(used.location ?? '').toContain('rp.example.gov.cn');
    const second = new UserAgent();
    const two = await authorize(second, site, { login: { login: phone, password: PASSWORD } });
    // Stopped before the site: an accepted replay would be a redirect, not a page that says no.
    const replayed = await submit(second, two.response, '/totp', { code }, site.redirectUri);
    expect(replayed.location).toBeUndefined();
    expect(replayed.status).toBe(400);
    expect(messageOf(replayed)).toBe('动态验证码或恢复码错误');

    // New recovery codes need the password; the old ones stop working.
    const ua = new UserAgent();
    const asked = await openAccount(ua, phone, PASSWORD, '/account/security');
    const security = await submit(ua, asked, '/totp', { code: initial[0]! });
    const refused = await post(ua, security, '/account/security/totp/recovery-codes', {
      password: 'Wrong-Pass#9',
    });
    expect(messageOf(refused)).toBe('当前密码错误');
    const fresh = await post(ua, refused, '/account/security/totp/recovery-codes', { password: PASSWORD });
    const codes = [...fresh.body.matchAll(/<code>([0-9A-F]{5}-[0-9A-F]{5})<\/code>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect(fresh.body).toContain('恢复码已重新生成');

    // The first set, one of which was never used, is gone.
    const old = new UserAgent();
    const four = await authorize(old, site, { login: { login: phone, password: PASSWORD } });
    const gone = await submit(old, four.response, '/totp', { code: initial[1]! });
    expect(messageOf(gone)).toBe('动态验证码或恢复码错误');

    // Five wrong codes (that one included), and even the right recovery code must wait.
    const guesser = new UserAgent();
    const three = await authorize(guesser, site, { login: { login: phone, password: PASSWORD } });
    let page = three.response;
    for (let i = 0; i < 4; i++) page = await submit(guesser, page, '/totp', { code: '00000-00000' });
    const capped = await submit(guesser, page, '/totp', { code: codes[0]! });
    expect(capped.status).toBe(429);
    expect(await server.services.totp.unusedRecoveryCodes(id)).toBe(10);
  });

  it('counts TOTP attempts atomically: 40 parallel wrong codes, then the right one, is refused', async () => {
    const { id } = await addCitizen(server, PASSWORD);
    const { secret } = await server.services.totp.beginEnrolment(id, 'test');
    const [recovery] = await server.services.totp.confirmEnrolment(id, await previousTotpCode(secret));
    const account = (await server.services.accounts.find(id))!;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () => server.services.totp.check(account, '000000')),
    );
    const wrong = outcomes.filter((o) => o.status === 'rejected' && o.reason.code === 'totp_wrong');
    expect(wrong).toHaveLength(5);
    await expect(server.services.totp.check(account, recovery!)).rejects.toMatchObject({ status: 429 });
  });

  it("refuses a form post without the page's CSRF token, or with another browser's, and changes nothing", async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const security = await openAccount(ua, phone, PASSWORD, '/account/security');
    const action = new URL('/account/security/password', server.url);
    const change = {
      current_password: PASSWORD,
      new_password: 'Cao-Can#2025',
      new_password_confirm: 'Cao-Can#2025',
    };
    // Another browser's token is a valid token, of another browser id.
    const stranger = new UserAgent();
    const strangerToken = /name="_csrf" value="([^"]+)"/.exec(
      (await stranger.follow(await stranger.get(`${server.url}/account`))).body,
    )![1]!;
    for (const csrf of [undefined, strangerToken, 'x'.repeat(43)]) {
      const res = await ua.post(action, csrf === undefined ? change : { ...change, _csrf: csrf });
      expect(res.status).toBe(403);
      expect(res.body).not.toContain('修改成功');
    }
    expect(security.status).toBe(200);
    // The password is the old one still.
    const check = await authorize(new UserAgent(), site, { login: { login: phone, password: PASSWORD } });
    // Past the login page (to the consent page or the site): the old password still signs in.
    expect(check.response.body).not.toContain('手机号码/身份证号码');
  });

  it('asks for the TOTP code at a step-up from a password session once two-step verification is on', async () => {
    const { phone, id } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    // Signed in with the password before two-step verification existed: the session is basic.
    await signIn(ua, site, { login: { login: phone, password: PASSWORD } });
    const { secret } = await server.services.totp.beginEnrolment(id, 'test');
    await server.services.totp.confirmEnrolment(id, await previousTotpCode(secret));
    // The site then asks for mfa: an SMS code proves pwd + sms, below a certificate, so TOTP too.
    const stepUp = await authorize(ua, site, { params: { acr_values: 'urn:unified-id:acr:mfa' } });
    expect(stepUp.response.body).toContain('安全验证');
    const sent = await submit(ua, stepUp.response, '/step-up', { action: 'send_sms' });
    const afterSms = await submit(
      ua,
      sent,
      '/step-up',
      { sms_code: (await latestSmsCode(server, phone))!, action: 'verify' },
      site.redirectUri,
    );
    expect(afterSms.location ?? '').not.toContain(site.redirectUri);
    expect(afterSms.body).toContain('两步验证');
    const done = await submit(ua, afterSms, '/totp', { code: await generate({ secret }) }, site.redirectUri);
    expect(done.location ?? '').toContain(site.redirectUri);
  });

  it('lists the signed-in devices and signs another one out, telling its sites', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const other = new UserAgent();
    const { tokens } = await signIn(other, site, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid offline_access', prompt: 'consent' },
    });
    // The site of the device works with its refresh token until the device is signed out.
    const refreshed = await oidc.refreshTokenGrant(site.config, tokens.refresh_token!);
    const before = receiver.tokens.length;
    const ua = new UserAgent();
    const sessions = await openAccount(ua, phone, PASSWORD, '/account/sessions');
    expect(sessions.body.match(/<tr>\s*<td[ >]/g)).toHaveLength(2);
    expect(sessions.body).toContain('当前设备');
    const uid = /name="session" value="([^"]+)"><button type="submit" class="secondary">退出/.exec(
      sessions.body,
    )![1]!;
    await post(ua, sessions, '/account/sessions/end', { session: uid });
    expect((await receiver.waitFor(before + 1)).length).toBe(before + 1);
    const silent = await authorize(other, site, { params: { prompt: 'none' } });
    expect(silent.callbackUrl?.searchParams.get('error')).toBe('login_required');
    await expect(
      oidc.refreshTokenGrant(site.config, refreshed.refresh_token ?? tokens.refresh_token!),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('lists the sites consented to and revokes one: its tokens die', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const { tokens } = await signIn(ua, site, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid phone offline_access', prompt: 'consent' },
    });
    const sites = await openAccount(ua, phone, PASSWORD, '/account/sites');
    expect(sites.body).toContain('您的手机号码');
    const revoked = await post(ua, sites, '/account/sites/revoke', { client_id: site.clientId });
    expect(revoked.body).toContain('您尚未授权任何网站');
    await expect(oidc.refreshTokenGrant(site.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('shows the sign-in record, failures included', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    await authorize(new UserAgent(), site, { login: { login: phone, password: 'Wrong#Pass2' } });
    const ua = new UserAgent();
    const log = await openAccount(ua, phone, PASSWORD, '/account/log');
    expect(log.body).toMatch(/登录<\/td><td[^>]*>密码<\/td><td[^>]*>失败/);
    expect(log.body).toMatch(/登录<\/td><td[^>]*>密码<\/td><td[^>]*>成功/);
  });

  it('changes the phone with codes to the old and the new number', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const next = randomPhone();
    const ua = new UserAgent();
    const security = await openAccount(ua, phone, PASSWORD, '/account/security');
    await post(ua, security, '/account/security/phone/send', { which: 'old' });
    await post(ua, security, '/account/security/phone/send', {
      which: 'new',
      new_phone: next,
      captcha: await solveCaptcha(ua, server, security),
    });
    const done = await post(ua, security, '/account/security/phone', {
      new_phone: next,
      old_code: (await latestSmsCode(server, phone))!,
      new_code: (await latestSmsCode(server, next))!,
    });
    expect(messageOf(done)).toBe('修改成功');
    expect(await server.services.accounts.findByPhone(`+86${next}`)).toBeDefined();
    expect(await server.services.accounts.findByPhone(`+86${phone}`)).toBeUndefined();
  });

  it('closes the account after the password and an SMS code, erasing personal data', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    await signIn(ua, site, { login: { login: phone, password: PASSWORD } });
    const before = receiver.tokens.length;
    const close = await openAccount(ua, phone, PASSWORD, '/account/close');
    const sent = await post(ua, close, '/account/close/send-sms');
    const wrong = await post(ua, sent, '/account/close', { password: 'Wrong#Pass3', sms_code: '000000' });
    expect(messageOf(wrong)).toBe('密码错误');
    const done = await post(ua, sent, '/account/close', {
      password: PASSWORD,
      sms_code: (await latestSmsCode(server, phone))!,
    });
    expect(done.body).toContain('账号已注销');
    expect((await receiver.waitFor(before + 1)).length).toBeGreaterThan(before);
    const row = await server.database
      .db('accounts')
      .where({ status: 'closed' })
      .orderBy('updated_at', 'desc')
      .first();
    expect(row.phone).toBeNull();
    expect(row.password_hash).toBeNull();
    const again = await authorize(new UserAgent(), site, { login: { login: phone, password: PASSWORD } });
    expect(again.callbackUrl).toBeUndefined();
  });

  it('asks for the password again after 30 idle minutes', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    await openAccount(ua, phone);
    await server.database.db('session_meta').update({ last_seen_at: new Date(Date.now() - 31 * 60_000) });
    const res = await ua.get(`${server.url}/account`);
    expect(res.status).toBe(302);
    expect(new URL(res.location!).searchParams.get('prompt')).toBe('login');
  });
});
