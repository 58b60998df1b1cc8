import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import {
  interactionUid,
  loginPage,
  REDIRECT_URI,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Hostile#Input2024';
const INJECTIONS = [
  "' OR '1'='1' --",
  "'); drop table accounts; --",
  '<script>alert(1)</script>',
  '<%= it.csrf %>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${7*7}{{7*7}}',
  '\u0000\u202e\ud800',
  'ａ'.repeat(300),
];

/** Counts of the tables a hostile request must not change. */
async function stateOf(server: TestServer) {
  return {
    accounts: await rowCount(server, 'accounts'),
    clients: await rowCount(server, 'clients'),
    smsCodes: await rowCount(server, 'sms_codes'),
    consents: await rowCount(server, 'consents'),
  };
}

describe('hostile and malformed input at the public endpoints and forms', () => {
  let server: TestServer;
  let phone: string;

  beforeAll(async () => {
    server = await startTestServer();
    phone = (await addCitizen(server, PASSWORD)).phone;
  });
  afterAll(() => server?.close());

  it('answers injection strings in every login and registration field with a clean 4xx, changing nothing', async () => {
    const ua = new UserAgent();
    const page = await loginPage(server, ua);
    const uid = interactionUid(page);
    const csrf = hiddenField(page.body, '_csrf');
    const before = await stateOf(server);
    for (const evil of INJECTIONS) {
      const targets: [string, Record<string, string>][] = [
        ['login', { login: evil, password: evil }],
        ['login-sms', { phone: evil, captcha: evil, sms_code: evil, action: 'send_sms' }],
        [
          'register/person',
          {
            phone: evil,
            password: evil,
            password_confirm: evil,
            sms_code: evil,
            agree: 'yes',
            action: 'register',
          },
        ],
        ['forgot', { phone: evil, captcha: evil, action: 'send_sms' }],
      ];
      for (const [path, fields] of targets) {
        const res = await ua.post(`${server.url}/interaction/${uid}/${path}`, { _csrf: csrf, ...fields });
        expect(res.status, `${path} with ${JSON.stringify(evil)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body).not.toContain('<script>alert(1)</script>');
        expect(res.body).not.toMatch(/at \w+ \(|node_modules|SELECT|syntax error/);
      }
    }
    expect(await stateOf(server)).toEqual(before);
  });

  it('answers an over-long or missing form field with the form again, its Chinese error and what was typed (not the secrets)', async () => {
    const ua = new UserAgent();
    const page = await loginPage(server, ua);
    const uid = interactionUid(page);
    const csrf = hiddenField(page.body, '_csrf');
    const longSecret = 'Pw#1'.repeat(300);
    const cases: [string, Record<string, string>, string, string[]][] = [
      ['login', { login: '1'.repeat(200), password: PASSWORD }, '账号过长', ['1'.repeat(200)]],
      ['login', { login: phone, password: longSecret }, '密码过长', [phone]],
      [
        'register/person',
        {
          phone: '13800001234',
          password: longSecret,
          password_confirm: longSecret,
          sms_code: '123456',
          agree: 'yes',
          action: 'register',
        },
        '密码过长',
        ['13800001234', '123456'],
      ],
      [
        'register/person',
        { password: PASSWORD, password_confirm: PASSWORD, agree: 'yes', action: 'register' },
        '请输入正确的手机号码',
        [],
      ],
    ];
    for (const [path, fields, message, kept] of cases) {
      const res = await ua.post(`${server.url}/interaction/${uid}/${path}`, { _csrf: csrf, ...fields });
      expect(res.status, `${path} ${message}`).toBe(400);
      expect(res.body).toContain(message);
      expect(res.body).toContain('<form');
      for (const value of kept) expect(res.body).toContain(`value="${value}"`);
      expect(res.body).not.toContain(longSecret);
      expect(res.body).not.toContain(PASSWORD);
    }
  });

  it('refuses oversized bodies, wrong content types, repeated fields and broken encodings', async () => {
    const ua = new UserAgent();
    const page = await loginPage(server, ua);
    const action = formAction(page.body, '/login', page.url);
    const csrf = hiddenField(page.body, '_csrf');
    const send = (body: string | Buffer, type = 'application/x-www-form-urlencoded') =>
      ua.request(action, { method: 'POST', headers: { 'content-type': type }, body });
    const cases = [
      await send(`_csrf=${csrf}&login=${'1'.repeat(200_000)}&password=x`),
      await send(`_csrf=${csrf}&login=a&login=b&password=x`),
      await send('<xml/>', 'application/xml'),
      await send(Buffer.from([0x5f, 0x63, 0x73, 0x72, 0x66, 0x3d, 0xff, 0xfe, 0xfd])),
      await send('%E4%B8%AD%ZZ=%%%'),
      await send(JSON.stringify({ _csrf: csrf, login: { $ne: null }, password: ['x'] }), 'application/json'),
    ];
    for (const res of cases) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('refuses forged CSRF tokens and tampered cookies', async () => {
    const ua = new UserAgent();
    const page = await loginPage(server, ua);
    const action = formAction(page.body, '/login', page.url);
    const forged = await ua.post(action, { _csrf: 'A'.repeat(43), login: phone, password: PASSWORD });
    expect(forged.status).toBe(403);
    // A browser whose signed cookies were edited is a stranger: its interaction is not found.
    for (const c of ua.cookies) c.value = `${c.value.slice(0, -2)}xx`;
    const tampered = await ua.post(action, {
      _csrf: hiddenField(page.body, '_csrf'),
      login: phone,
      password: PASSWORD,
    });
    expect(tampered.status).toBeGreaterThanOrEqual(400);
    expect(tampered.status).toBeLessThan(500);
    expect(tampered.location).toBeUndefined();
  });

  it('never redirects to an address the site did not register', async () => {
    const rp = await registerRelyingParty(server);
    const attempts = [
      'https://evil.example.com/cb',
      `${REDIRECT_URI}.evil.example.com`,
      `${REDIRECT_URI}?next=https://evil.example.com`,
      `${REDIRECT_URI}#frag`,
      'javascript:alert(1)',
      '//evil.example.com',
    ];
    for (const redirect of attempts) {
      const res = await new UserAgent().get(
        `${server.url}/auth?${new URLSearchParams({
          client_id: rp.clientId,
          redirect_uri: redirect,
          response_type: 'code',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        })}`,
      );
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    }
  });

  it('forbids framing of every page and answers unknown paths with a Chinese 404', async () => {
    const page = await loginPage(server, new UserAgent());
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const missing = await new UserAgent().get(`${server.url}/nothing-here/${'x'.repeat(500)}`);
    expect(missing.status).toBe(404);
  });

  it('refuses a replayed authorization code and a replayed consent submission', async () => {
    // The failures above made this address ask for the captcha; this test is about replays.
    await server.database.db('rate_limits').delete();
    const rp = await registerRelyingParty(server);
    const ua = new UserAgent();
    const { outcome } = await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
    await expect(
      oidc.authorizationCodeGrant(rp.config, outcome.callbackUrl!, {
        pkceCodeVerifier: outcome.verifier,
        expectedState: outcome.state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const consentsBefore = (await stateOf(server)).consents;
    const replay = await ua.post(`${server.url}/interaction/finished-long-ago/confirm`, {
      _csrf: 'x',
      decision: 'allow',
    });
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect((await stateOf(server)).consents).toBe(consentsBefore);
  });
});
