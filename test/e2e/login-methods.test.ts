import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_METHODS } from '../../src/flows/methods/index.js';
import {
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  type DevCa,
  issueEnterpriseCertificate,
  signAsHolder,
} from '../../src/pki/dev-ca.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { pinMethod, pinOf } from '../fixtures/pin-method/index.js';
import {
  type AlipayFake,
  alipayLinkOf,
  alipayUser,
  authorizeAtAlipay,
  startAlipayFake,
} from '../support/alipay.js';
import { addCitizen, latestSmsCode, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { addEnterprise } from '../support/enterprise.js';
import { addOperator, consoleSignIn } from '../support/operators.js';
import {
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { previousTotpCode } from '../support/totp.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Men-Hu#2024';

/**
 * The methods this server signs in with, and so the rows of the table: the registry's, and a
 * throw-away method from test/fixtures registered beside them in this one line, which must
 * pass the same cases with nothing else edited.
 */
const REGISTERED = [...LOGIN_METHODS, pinMethod];
const ALIPAY_USERS = Array.from({ length: 12 }, (_, i) => alipayUser(300 + i, { userName: '钱九' }));

/** An account a method can sign in, as that method knows it. */
interface Prepared {
  id: string;
  login: string;
  alipayUserId?: string;
  certificate?: Awaited<ReturnType<typeof issueEnterpriseCertificate>>;
}

/**
 * One row of the table per registered method: how to make an account it signs in, how to sign
 * in with it from the login page of a sign-in in progress, and what must come of it.
 */
interface MethodCase {
  prepare(): Promise<Prepared>;
  /** From the sign-in's first page to wherever the method leaves the browser (not past the site). */
  signIn(ua: UserAgent, start: PageResponse, account: Prepared): Promise<PageResponse>;
  acr: string;
  amr: string[];
  /** The method's label in the audit log and in unified_id_logins_total. */
  audited: string;
  /** Below acr cert: an account with 两步验证 is asked for its code. */
  asksTotp: boolean;
  /** The method proves its factor before the account's status can be told (password does not). */
  tellsLock: boolean;
}

describe.each(databaseKinds())('every login method through one door (%s)', (kind) => {
  let server: TestServer;
  let fake: AlipayFake;
  let ca: DevCa;
  let site: RelyingParty;
  let certificateSite: RelyingParty;
  let nextAlipayUser = 0;

  beforeAll(async () => {
    ca = await createDevCa({ algorithm: 'ECDSA-P256' });
    const certs = mkdtempSync(path.join(tmpdir(), 'uid-certs-'));
    writeFileSync(path.join(certs, 'dev-ecdsa-ca.pem'), ca.certificatePem);
    fake = await startAlipayFake(ALIPAY_USERS);
    server = await startTestServer({
      kind,
      env: { ...fake.env, CERTS_DIR: certs },
      loginMethods: REGISTERED,
    });
    const scopes: ('openid' | 'profile' | 'phone' | 'enterprise')[] = [
      'openid',
      'profile',
      'phone',
      'enterprise',
    ];
    site = await registerRelyingParty(server, { firstParty: true, scopes });
    certificateSite = await registerRelyingParty(server, { firstParty: true, scopes, requireLevel: 'L3' });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.alipay.close();
  });

  const url = (page: PageResponse, suffix: string) =>
    `${server.url}/interaction/${interactionUid(page)}${suffix}`;

  /** A legal person under a new real-name representative, with a password. */
  async function enterprise(): Promise<Prepared> {
    const creditCode = randomCreditCode();
    const { accountId } = await addEnterprise(server, {
      orgName: '门户测试有限公司',
      creditCode,
      password: PASSWORD,
      representativeName: '林则徐',
    });
    return { id: accountId, login: creditCode };
  }

  /** A password form, with the captcha when the page asks for one (after failures from this address). */
  async function withPassword(ua: UserAgent, page: PageResponse, action: string, login: string) {
    const captcha: Record<string, string> = page.body.includes('图片验证码')
      ? { captcha: await solveCaptcha(ua, server, page) }
      : {};
    return submit(ua, page, action, { login, password: PASSWORD, ...captcha }, site.redirectUri);
  }

  const CASES: Record<string, MethodCase> = {
    password: {
      prepare: async () => {
        const { id, phone } = await addCitizen(server, PASSWORD);
        return { id, login: phone };
      },
      signIn: (ua, start, account) => withPassword(ua, start, '/login', account.login),
      acr: 'urn:unified-id:acr:basic',
      amr: ['pwd'],
      audited: 'password',
      asksTotp: true,
      tellsLock: false,
    },
    sms: {
      prepare: async () => {
        const { id, phone } = await addCitizen(server, PASSWORD);
        return { id, login: phone };
      },
      signIn: async (ua, start, account) => {
        const tab = await ua.get(url(start, '?tab=sms'));
        const sent = await submit(ua, tab, '/login-sms', {
          phone: account.login,
          captcha: await solveCaptcha(ua, server, tab),
          action: 'send_sms',
        });
        const code = (await latestSmsCode(server, account.login)) ?? '000000';
        return submit(
          ua,
          sent,
          '/login-sms',
          { phone: account.login, sms_code: code, action: 'login' },
          site.redirectUri,
        );
      },
      acr: 'urn:unified-id:acr:basic',
      amr: ['sms'],
      audited: 'sms',
      asksTotp: true,
      tellsLock: true,
    },
    'credit-code': {
      prepare: enterprise,
      signIn: async (ua, start, account) => {
        return withPassword(ua, await ua.get(url(start, '?tab=legal')), '/login-legal', account.login);
      },
      acr: 'urn:unified-id:acr:basic',
      amr: ['pwd'],
      audited: 'password',
      asksTotp: true,
      tellsLock: false,
    },
    certificate: {
      prepare: async () => {
        const account = await enterprise();
        const certificate = await issueEnterpriseCertificate(ca, {
          creditCode: account.login,
          orgName: '门户测试有限公司',
          algorithm: 'ECDSA-P256',
          policies: [DEV_HARDWARE_POLICY_OID],
        });
        await server.database.db('bound_certificates').insert({
          fingerprint: createHash('sha256').update(certificate.certificateDer).digest('hex'),
          account_id: account.id,
          subject: '门户测试有限公司',
          issuer: ca.commonName,
          serial_hex: certificate.serialNumberHex,
          key_algorithm: 'EC-P256',
          not_after: new Date(Date.now() + 86_400_000),
        });
        await server.database.db('accounts').where({ id: account.id }).update({ certification_level: 'L3' });
        return { ...account, certificate };
      },
      // What the page script does: a challenge, the signature by the key, the chain.
      signIn: async (ua, start, account) => {
        const page = await ua.get(url(start, '/cert/login'));
        const endpoint = /data-endpoint="([^"]+)"/.exec(page.body)![1]!;
        const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
        const call = (part: string, body: unknown) =>
          ua.request(`${server.url}${endpoint}/${part}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
            body: JSON.stringify(body),
          });
        const challenge = JSON.parse((await call('challenge', { purpose: 'login' })).body);
        const holder = account.certificate!;
        const signature = signAsHolder(
          holder.privateKey,
          'ECDSA-P256-SHA256',
          new TextEncoder().encode(challenge.challenge),
        );
        const answer = await call('login', {
          nonce: challenge.nonce,
          signature: Buffer.from(signature).toString('base64'),
          chain: [Buffer.from(holder.certificateDer).toString('base64')],
          algorithm: 'ECDSA-P256-SHA256',
        });
        if (answer.status !== 200) return answer;
        return ua.follow(await ua.get(JSON.parse(answer.body).redirectTo), site.redirectUri);
      },
      acr: 'urn:unified-id:acr:cert',
      amr: ['hwk'],
      audited: 'certificate',
      asksTotp: false,
      tellsLock: true,
    },
    pin: {
      prepare: async () => {
        const { id, phone } = await addCitizen(server, PASSWORD);
        return { id, login: phone };
      },
      // Two pages: the phone, then the 口令, with the step between them in the method's own kind of flow state.
      signIn: async (ua, start, account) => {
        const tab = await ua.get(url(start, '?tab=pin'));
        const step = await submit(ua, tab, '/login-pin', { login: account.login, action: 'next' });
        expect(step.body).toContain('name="pin"');
        return submit(ua, step, '/login-pin', { pin: pinOf(account.id), action: 'login' }, site.redirectUri);
      },
      acr: 'urn:unified-id:acr:basic',
      amr: ['pin'],
      audited: 'pin',
      asksTotp: true,
      tellsLock: true,
    },
    alipay: {
      // 支付宝关联注册 once, so the Alipay user is linked; the table then signs it straight in.
      prepare: async () => {
        const user = ALIPAY_USERS[nextAlipayUser++]!;
        const ua = new UserAgent();
        const start = await beginAuthorization(ua, site);
        const back = await authorizeAtAlipay(ua, alipayLinkOf(start.page, '支付宝登录'), user.userId);
        const form = await ua.follow(back, site.redirectUri);
        const done = await submit(
          ua,
          form,
          '/alipay/register',
          { action: 'register', agree: 'yes' },
          site.redirectUri,
        );
        const { tokens } = await completeAuthorization(ua, site, start, done);
        return { id: tokens!.claims()!.sub, login: user.userId, alipayUserId: user.userId };
      },
      signIn: async (ua, start, account) => {
        const back = await authorizeAtAlipay(ua, alipayLinkOf(start, '支付宝登录'), account.alipayUserId!);
        return ua.follow(back, site.redirectUri);
      },
      acr: 'urn:unified-id:acr:basic',
      amr: ['alipay'],
      audited: 'alipay',
      asksTotp: true,
      tellsLock: true,
    },
  };

  const returnedToSite = (res: PageResponse, rp: RelyingParty) => !!res.location?.startsWith(rp.redirectUri);

  async function loginMetric(method: string): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = new RegExp(`^unified_id_logins_total\\{method="${method}",outcome="success"\\} (\\d+)`, 'm');
    return Number(line.exec(text)?.[1] ?? 0);
  }

  const loginRows = async (accountId: string) =>
    Number(
      (
        await server.database
          .db('audit_events')
          .where({ account_id: accountId, type: 'login', outcome: 'success' })
          .count({ n: '*' })
      )[0]!.n,
    );

  it('has a row for every registered method, and no row for a method that is not registered', () => {
    expect(Object.keys(CASES).sort()).toEqual(REGISTERED.map((m) => m.id).sort());
  });

  describe.each(REGISTERED.map((m) => m.id))('%s', (id) => {
    // A method in the registry without a row here has no case: every test below then fails.
    const method = () => {
      const found = CASES[id];
      if (!found)
        throw new Error(`login method "${id}" has no row in the table of test/e2e/login-methods.test.ts`);
      return found;
    };

    it('signs an active account in with the expected acr and amr, one audit row, one metric increment', async () => {
      const m = method();
      const account = await m.prepare();
      const [rowsBefore, metricBefore] = [await loginRows(account.id), await loginMetric(m.audited)];
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, site);
      const res = await m.signIn(ua, start.page, account);
      const { tokens } = await completeAuthorization(ua, site, start, res);
      const claims = tokens!.claims()!;
      expect(claims.sub).toBe(account.id);
      expect(claims.acr).toBe(m.acr);
      expect(claims.amr).toEqual(m.amr);
      expect(await loginRows(account.id)).toBe(rowsBefore + 1);
      expect(await loginMetric(m.audited)).toBe(metricBefore + 1);
    });

    for (const status of ['locked', 'closed'] as const) {
      it(`refuses a ${status} account, and no code reaches the site`, async () => {
        const m = method();
        const account = await m.prepare();
        if (status === 'locked') await server.services.accounts.setStatus(account.id, 'locked');
        else await server.services.accounts.close(account.id);
        const ua = new UserAgent();
        const start = await beginAuthorization(ua, site);
        const res = await m.signIn(ua, start.page, account);
        expect(returnedToSite(res, site)).toBe(false);
        if (status === 'locked') {
          expect(res.status).toBeGreaterThanOrEqual(400);
          if (m.tellsLock) expect(res.body).toContain('账号已被锁定或注销，请联系客服');
        }
        // A closed account has no phone, password or Alipay link left: whatever the page offers
        // next (a new registration, for Alipay), the old account is not signed in.
      });
    }

    it('asks an account with 两步验证 for its code before any token (unless a certificate signed it in)', async () => {
      const m = method();
      const account = await m.prepare();
      const { secret } = await server.services.totp.beginEnrolment(account.id, 'table');
      await server.services.totp.confirmEnrolment(account.id, await previousTotpCode(secret));
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, site);
      let res = await m.signIn(ua, start.page, account);
      if (m.asksTotp) {
        expect(returnedToSite(res, site)).toBe(false);
        expect(res.body).toContain('两步验证');
        res = await submit(ua, res, '/totp', { code: await generate({ secret }) }, site.redirectUri);
      }
      const { tokens } = await completeAuthorization(ua, site, start, res);
      const claims = tokens!.claims()!;
      if (m.asksTotp) {
        expect(claims.acr).toBe('urn:unified-id:acr:mfa');
        expect(claims.amr).toEqual([...m.amr, 'otp', 'mfa']);
      } else {
        expect(claims.acr).toBe(m.acr);
      }
    });

    it('satisfies a site registered with --require-level L3 only with a certificate', async () => {
      const m = method();
      const account = await m.prepare();
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, certificateSite);
      const res = await ua.follow(await m.signIn(ua, start.page, account), certificateSite.redirectUri);
      if (m.acr === 'urn:unified-id:acr:cert') {
        const { tokens } = await completeAuthorization(ua, certificateSite, start, res);
        expect(tokens!.claims()!.certification_level).toBe('L3');
      } else {
        expect(returnedToSite(res, certificateSite)).toBe(false);
        expect(res.body).toContain('要求使用数字证书登录');
      }
    });
  });

  it('keeps the fixture method’s pending step in its own flow state: bound to its sign-in, and spent by one guess', async () => {
    const account = await CASES['pin']!.prepare();
    const ua = new UserAgent();
    const start = await beginAuthorization(ua, site);
    const tab = await ua.get(url(start.page, '?tab=pin'));
    // Another sign-in, which never typed the phone, can not skip to the 口令.
    const other = new UserAgent();
    const otherTab = await other.get(url((await beginAuthorization(other, site)).page, '?tab=pin'));
    const skipped = await submit(other, otherTab, '/login-pin', { pin: pinOf(account.id), action: 'login' });
    expect(skipped.status).toBe(400);
    expect(returnedToSite(skipped, site)).toBe(false);

    const step = await submit(ua, tab, '/login-pin', { login: account.login, action: 'next' });
    const wrong = await submit(ua, step, '/login-pin', { pin: pinOf(`${account.id}-not`), action: 'login' });
    expect(wrong.status).toBe(401);
    const again = await submit(ua, step, '/login-pin', { pin: pinOf(account.id), action: 'login' });
    expect(again.status).toBe(400);
    expect(returnedToSite(again, site)).toBe(false);
  });

  it('names the fixture method’s sign-in in the console’s audit log and its export in the word it registered', async () => {
    const m = CASES['pin']!;
    const account = await m.prepare();
    const ua = new UserAgent();
    const start = await beginAuthorization(ua, site);
    await completeAuthorization(ua, site, start, await m.signIn(ua, start.page, account));
    const auditor = await addOperator(server, 'audit');
    const { ua: operator } = await consoleSignIn(server, auditor.phone);
    const query = new URLSearchParams({ type: 'login', account: account.id });
    const page = await operator.get(`${server.url}/console/audit?${query}`);
    expect(page.status).toBe(200);
    // The filter's form repeats the account: the table's row is the one with a 方式 cell.
    const row = page.body
      .split('<tr>')
      .find((r) => r.includes(account.id) && r.includes('data-label="方式"'));
    expect(row).toContain('<td data-label="方式">口令</td>');
    const exported = await operator.get(`${server.url}/console/audit/export.csv?${query}`);
    const line = exported.body.split('\r\n').find((l) => l.includes(account.id));
    // The name beside the code the hash chain covers.
    expect(line).toContain('"口令","pin"');
  });
});
