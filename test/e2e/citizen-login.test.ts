import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackchannelReceiver, startBackchannelReceiver } from '../support/backchannel-receiver.js';
import {
  addCitizen,
  continueFrom,
  latestSmsCode,
  messageOf,
  randomIdNumber,
  solveCaptcha,
  submit,
} from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  randomPhone,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ProxiedUserAgent, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Zheng-Shi#2024';

describe.each(databaseKinds())(
  'a citizen signing in, locked out, recovering and stepping up (%s)',
  (kind) => {
    let server: TestServer;
    let rp: RelyingParty;

    beforeAll(async () => {
      // Behind a proxy (TRUST_PROXY) so that the lock-out test's browser has an address of its own.
      server = await startTestServer({ kind, env: { TRUST_PROXY: 'true' } });
      rp = await registerRelyingParty(server, { firstParty: true });
    });
    afterAll(() => server?.close());

    it('signs in with an SMS code, and refuses one meant for another purpose', async () => {
      const { phone } = await addCitizen(server, PASSWORD);
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, rp);
      const sms = await ua.get(`${start.page.url}?tab=sms`);
      const sent = await submit(ua, sms, '/login-sms', {
        phone,
        captcha: await solveCaptcha(ua, server, sms),
        action: 'send_sms',
      });
      const code = (await latestSmsCode(server, phone))!;
      // A login code can not reset a password.
      await server.services.sms
        .verify({ phone: `+86${phone}`, purpose: 'reset_password', code, ip: '127.0.0.1' })
        .then(
          () => expect.unreachable(),
          (err: Error) => expect(err.name).toBe('SmsCodeWrong'),
        );
      const done = await submit(
        ua,
        sent,
        '/login-sms',
        { phone, sms_code: code, action: 'login' },
        rp.redirectUri,
      );
      const { tokens } = await completeAuthorization(ua, rp, start, done);
      expect(tokens!.claims()!.amr).toEqual(['sms']);
      expect(tokens!.claims()!.acr).toBe('urn:unified-id:acr:basic');
    });

    it('resets a forgotten password, ends every session with back-channel logout, and signs in with the new one', async () => {
      const receiver: BackchannelReceiver = await startBackchannelReceiver();
      try {
        const site = await registerRelyingParty(server, {
          firstParty: true,
          backchannelLogoutUri: receiver.url,
        });
        const { phone } = await addCitizen(server, PASSWORD);
        const elsewhere = new UserAgent();
        await signIn(elsewhere, site, { login: { login: phone, password: PASSWORD } });

        const ua = new UserAgent();
        const { page } = await beginAuthorization(ua, rp);
        const forgot = await ua.get(new URL(/href="([^"]+\/forgot)"/.exec(page.body)![1]!, server.url));
        const codeStep = await submit(ua, forgot, '/forgot', {
          phone,
          captcha: await solveCaptcha(ua, server, forgot),
        });
        const passwordStep = await submit(ua, codeStep, '/forgot/code', {
          sms_code: (await latestSmsCode(server, phone))!,
        });
        const newPassword = 'New-Secret#2025';
        const mismatch = await submit(ua, passwordStep, '/forgot/password', {
          password: newPassword,
          password_confirm: 'other',
        });
        expect(messageOf(mismatch)).toBe('两次输入的密码不一致');
        const back = await submit(ua, passwordStep, '/forgot/password', {
          password: newPassword,
          password_confirm: newPassword,
        });
        expect(messageOf(back)).toBe('密码已重置，请使用新密码登录');

        expect(await receiver.waitFor(1)).toHaveLength(1);
        const silent = await authorize(elsewhere, site, { params: { prompt: 'none' } });
        expect(silent.callbackUrl?.searchParams.get('error')).toBe('login_required');

        const old = await authorize(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
        expect(old.callbackUrl).toBeUndefined();
        const fresh = await signIn(new UserAgent(), rp, { login: { login: phone, password: newPassword } });
        expect(fresh.tokens.claims()!.sub).toBeTruthy();
      } finally {
        await receiver.close();
      }
    });

    it('steps a password session up to mfa with an SMS code when a site asks for it', async () => {
      const { phone } = await addCitizen(server, PASSWORD);
      const ua = new UserAgent();
      await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
      const strict = await registerRelyingParty(server, { firstParty: true });
      const start = await beginAuthorization(ua, strict, { acr_values: 'urn:unified-id:acr:mfa' });
      expect(start.page.body).toContain('安全验证');
      expect(start.page.body).toContain(`${phone.slice(0, 3)}****${phone.slice(7)}`);
      const sent = await submit(ua, start.page, '/step-up', { action: 'send_sms' });
      const wrong = await submit(ua, sent, '/step-up', { sms_code: '999999', action: 'verify' });
      expect(messageOf(wrong)).toBe('短信验证码错误或已过期');
      const done = await submit(
        ua,
        sent,
        '/step-up',
        { sms_code: (await latestSmsCode(server, phone))!, action: 'verify' },
        strict.redirectUri,
      );
      const { tokens } = await completeAuthorization(ua, strict, start, done);
      const claims = tokens!.claims()!;
      expect(claims.acr).toBe('urn:unified-id:acr:mfa');
      expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'sms', 'mfa']));

      // The session is now mfa: the next request for mfa, even as an essential claim, passes silently.
      const essential = await authorize(ua, strict, {
        params: {
          prompt: 'none',
          claims: JSON.stringify({
            id_token: { acr: { essential: true, values: ['urn:unified-id:acr:mfa'] } },
          }),
        },
      });
      expect(essential.callbackUrl?.searchParams.get('code')).toBeTruthy();
      // But a certificate is more than this session has: never a silent downgrade.
      const cert = await authorize(ua, strict, {
        params: { prompt: 'none', acr_values: 'urn:unified-id:acr:cert' },
      });
      expect(cert.callbackUrl?.searchParams.get('error')).toBe('login_required');
    });

    it('leads an L1 citizen through 实名认证 at a site that requires L2, and back', async () => {
      const { phone } = await addCitizen(server, PASSWORD);
      const l2Site = await registerRelyingParty(server, { firstParty: true, requireLevel: 'L2' });
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, l2Site);
      const realname = await submit(ua, start.page, '/login', { login: phone, password: PASSWORD });
      expect(realname.body).toContain('要求实名认证');
      const verified = await submit(ua, realname, '/realname', {
        real_name: '冯十',
        id_number: randomIdNumber(),
      });
      expect(messageOf(verified)).toContain('实名认证成功');
      const done = await continueFrom(ua, verified, l2Site.redirectUri);
      const { tokens } = await completeAuthorization(ua, l2Site, start, done);
      expect(tokens!.claims()!['certification_level']).toBe('L2');

      // One who declines goes back with access_denied.
      const { phone: other } = await addCitizen(server, PASSWORD);
      const ua2 = new UserAgent();
      const start2 = await beginAuthorization(ua2, l2Site);
      const page = await submit(ua2, start2.page, '/login', { login: other, password: PASSWORD });
      const declined = await submit(ua2, page, '/realname/skip', {}, l2Site.redirectUri);
      const { error } = await completeAuthorization(ua2, l2Site, start2, declined);
      expect(error?.get('error')).toBe('access_denied');
      expect(error?.get('error_description')).toContain('L2');
    });

    it('asks for the captcha after three failures, locks the password after ten, and says nothing of either', async () => {
      const { phone } = await addCitizen(server, PASSWORD);
      // From an address of its own: its failures make only its own login pages ask for the captcha.
      const ua = new ProxiedUserAgent();
      let { page } = await beginAuthorization(ua, rp);
      for (let i = 1; i <= 10; i++) {
        const fields: Record<string, string> = { login: phone, password: `wrong-${i}-pass` };
        if (page.body.includes('name="captcha"')) fields['captcha'] = await solveCaptcha(ua, server, page);
        expect(page.body.includes('name="captcha"')).toBe(i > 3);
        page = await submit(ua, page, '/login', fields);
        expect(messageOf(page)).toBe('账号或密码错误');
      }
      // Locked: even the right password fails, with the same message.
      const locked = await submit(ua, page, '/login', {
        login: phone,
        password: PASSWORD,
        captcha: await solveCaptcha(ua, server, page),
      });
      expect(messageOf(locked)).toBe('账号或密码错误');
      const row = await server.database
        .db('accounts')
        .where({ phone: `+86${phone}` })
        .first();
      expect(new Date(row.password_locked_until).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);

      // SMS login still works, and only after the correct code is the lock and its end told.
      const uid = interactionUid(page);
      const sms = await ua.get(`${server.url}/interaction/${uid}?tab=sms`);
      const sent = await submit(ua, sms, '/login-sms', {
        phone,
        captcha: await solveCaptcha(ua, server, sms),
        action: 'send_sms',
      });
      expect(messageOf(sent)).toContain('如该手机号已注册，验证码已发送');
      const notice = await submit(ua, sent, '/login-sms', {
        phone,
        sms_code: (await latestSmsCode(server, phone))!,
        action: 'login',
      });
      expect(notice.body).toContain('密码登录已锁定');
      expect(notice.body).toMatch(/锁定至 \d{4}\/\d{1,2}\/\d{1,2}/);
    });
  },
);

describe('the real SMS gateway and identity verifier, as fake servers speaking their wire format', async () => {
  const { startFakeSmsGateway } = await import('../fakes/fake-sms-gateway.js');
  const { startFakeIdentityVerifier } = await import('../fakes/fake-identity-verifier.js');
  const secret = 'a-shared-secret-of-some-length';
  const known = { name: '陈一', idNumber: randomIdNumber('19770101') };
  let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;
  let verifier: Awaited<ReturnType<typeof startFakeIdentityVerifier>>;
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    gateway = await startFakeSmsGateway(secret);
    verifier = await startFakeIdentityVerifier(secret, [known]);
    server = await startTestServer({
      env: {
        SMS_GATEWAY: 'http',
        SMS_GATEWAY_URL: gateway.url,
        SMS_GATEWAY_APP_ID: 'unified-id',
        SMS_GATEWAY_SECRET: secret,
        SMS_GATEWAY_TIMEOUT_MS: '500',
        IDENTITY_VERIFIER: 'http',
        IDENTITY_VERIFIER_URL: verifier.url,
        IDENTITY_VERIFIER_APP_ID: 'unified-id',
        IDENTITY_VERIFIER_SECRET: secret,
        IDENTITY_VERIFIER_TIMEOUT_MS: '500',
      },
    });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(async () => {
    await server?.close();
    await gateway?.close();
    await verifier?.close();
  });

  async function registrationPage(ua: UserAgent) {
    const { page } = await beginAuthorization(ua, rp);
    const uid = interactionUid(page);
    return ua.get(`${server.url}/interaction/${uid}/register/person`);
  }

  it('registers with a code delivered by the gateway, and verifies against the service', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const form = await registrationPage(ua);
    const sent = await submit(ua, form, '/register/person', {
      phone,
      captcha: await solveCaptcha(ua, server, form),
      action: 'send_sms',
    });
    expect(messageOf(sent)).toContain('验证码已发送');
    const message = gateway.received.at(-1)!;
    expect(message['phone']).toBe(`+86${phone}`);
    expect(message['templateId']).toBe('UNIFIED_ID_VERIFICATION_CODE');
    const realname = await submit(ua, sent, '/register/person', {
      phone,
      password: PASSWORD,
      password_confirm: PASSWORD,
      sms_code: gateway.codeFor(`+86${phone}`)!,
      agree: 'yes',
      action: 'register',
    });
    expect(realname.body).not.toContain('开发模式');
    const mismatch = await submit(ua, realname, '/realname', {
      real_name: '陈二',
      id_number: known.idNumber,
    });
    expect(messageOf(mismatch)).toContain('实名核验未通过');

    // Down, and hanging past IDENTITY_VERIFIER_TIMEOUT_MS: the same page, and nothing written.
    for (const fault of ['down', 'hang'] as const) {
      verifier.faults[fault] = true;
      const down = await submit(ua, realname, '/realname', {
        real_name: known.name,
        id_number: known.idNumber,
      });
      verifier.faults[fault] = false;
      expect(down.status).toBe(503);
      expect(messageOf(down)).toBe('实名核验服务暂不可用，请稍后重试');
      const row = await server.database
        .db('accounts')
        .where({ phone: `+86${phone}` })
        .first();
      expect(row.verified_at).toBeNull();
    }

    const ok = await continueFrom(
      ua,
      await submit(ua, realname, '/realname', { real_name: known.name, id_number: known.idNumber }),
      rp.redirectUri,
    );
    expect(ok.location).toMatch(/^https:\/\/rp\.example\.gov\.cn\/callback\?code=/);
    const verified = await server.database
      .db('accounts')
      .where({ phone: `+86${phone}` })
      .first();
    expect(verified.certification_level).toBe('L2');
  });

  it('says 短信发送失败 when the gateway is down or hangs, and keeps no code', async () => {
    for (const fault of ['down', 'hang'] as const) {
      const ua = new UserAgent();
      const phone = randomPhone();
      const form = await registrationPage(ua);
      gateway.faults[fault] = true;
      const res = await submit(ua, form, '/register/person', {
        phone,
        captcha: await solveCaptcha(ua, server, form),
        action: 'send_sms',
      });
      gateway.faults[fault] = false;
      expect(res.status).toBe(502);
      expect(messageOf(res)).toBe('短信发送失败，请稍后重试');
      const codes = await server.database.db('sms_codes').where({ phone: `+86${phone}` });
      expect(codes).toHaveLength(0);
    }
  });
});
