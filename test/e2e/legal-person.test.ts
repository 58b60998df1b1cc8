import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { startFakeEnterpriseVerifier } from '../fakes/fake-enterprise-verifier.js';
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
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Fa-Ren#2024';

async function representative(server: TestServer, name = '林则徐') {
  const idNumber = randomIdNumber('19700101');
  const { phone } = await addCitizen(server, PASSWORD, { realName: name, idNumber });
  return { phone, idNumber, name };
}

type Representative = Awaited<ReturnType<typeof representative>>;

/** An enterprise registered under `rep` through the service, without the registration pages. */
async function registerEnterprise(
  server: TestServer,
  rep: Representative,
  creditCode: string,
  orgName: string,
) {
  const registration = {
    legalType: 'enterprise' as const,
    orgName,
    creditCode,
    representativeName: rep.name,
    representativeIdNumber: rep.idNumber,
    contactPhone: `+86${rep.phone}`,
    password: PASSWORD,
  };
  const legalPersons = server.services.legalPersons;
  return legalPersons.register(registration, await legalPersons.check(registration));
}

/** Legal persons and accounts: what a refused registration must leave as they were. */
const legalPersonsAndAccounts = async (server: TestServer) => [
  await rowCount(server, 'legal_persons'),
  await rowCount(server, 'accounts'),
];

/** The registration form with an SMS code sent to `phone`. */
async function legalForm(server: TestServer, rp: RelyingParty, ua: UserAgent, phone: string) {
  const start = await beginAuthorization(ua, rp, { scope: 'openid enterprise' });
  const uid = interactionUid(start.page);
  const choose = await ua.get(`${server.url}/interaction/${uid}/register`);
  expect(choose.body).toContain('/register/legal');
  const form = await ua.get(`${server.url}/interaction/${uid}/register/legal`);
  const sent = await submit(ua, form, '/register/legal', {
    phone,
    captcha: await solveCaptcha(ua, server, form),
    action: 'send_sms',
  });
  expect(messageOf(sent)).toContain('验证码已发送');
  return { start, sent };
}

const fields = (rep: Representative, code: string, extra: Record<string, string> = {}) => ({
  legal_type: 'enterprise',
  org_name: '福建某某科技有限公司',
  credit_code: code,
  representative_name: rep.name,
  representative_id_number: rep.idNumber,
  phone: rep.phone,
  password: PASSWORD,
  password_confirm: PASSWORD,
  agree: 'yes',
  action: 'register',
  ...extra,
});

describe.each(databaseKinds())('法人用户 registration and login (%s)', (kind) => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    rp = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
  });
  afterAll(() => server?.close());

  it('registers an enterprise under its verified representative, and signs in with the credit code', async () => {
    const rep = await representative(server);
    const code = randomCreditCode();
    const ua = new UserAgent();
    const { start, sent } = await legalForm(server, rp, ua, rep.phone);
    const bind = await submit(ua, sent, '/register/legal', {
      ...fields(rep, code),
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    expect(bind.body).toContain('绑定证书');
    expect(bind.body).toContain('跳过此步骤');
    const skipped = await submit(ua, bind, '/cert/bind/skip', {}, rp.redirectUri);
    const { tokens } = await completeAuthorization(ua, rp, start, skipped);
    const claims = tokens!.claims()!;
    expect(claims['user_type']).toBe('legal_person');
    expect(claims['certification_level']).toBe('L2');
    expect(claims['uscc']).toBe(code);
    expect(claims['org_name']).toBe('福建某某科技有限公司');
    expect(claims['legal_type']).toBe('enterprise');
    expect(claims['legal_representative']).toBe(rep.name);

    const again = new UserAgent();
    const second = await beginAuthorization(again, rp, { scope: 'openid enterprise' });
    const legalTab = await again.get(`${second.page.url}?tab=legal`);
    expect(legalTab.body).toContain('统一社会信用代码');
    expect(legalTab.body).toContain('证书登录');
    const wrong = await submit(again, legalTab, '/login-legal', { login: code, password: 'Wrong#Pass9' });
    expect(messageOf(wrong)).toBe('账号或密码错误');
    const done = await submit(
      again,
      wrong,
      '/login-legal',
      { login: code.toLowerCase(), password: PASSWORD },
      rp.redirectUri,
    );
    const signedIn = await completeAuthorization(again, rp, second, done);
    expect(signedIn.tokens!.claims()!.sub).toBe(claims.sub);
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => queries.push(q.sql);
    server.database.db.on('query', onQuery);
    const userinfo = await oidc.fetchUserInfo(rp.config, signedIn.tokens!.access_token, claims.sub);
    server.database.db.off('query', onQuery);
    expect(userinfo['uscc']).toBe(code);
    expect(userinfo['legal_representative']).toBe(rep.name);
    // The token with its grant, session and account in one statement; the enterprise (its
    // legal_persons row joined to the representative) is the one extra.
    const reads = queries.filter((sql) => /oidc_token_context|oidc_models|accounts|legal_persons/.test(sql));
    expect(reads).toHaveLength(2);
    expect(reads.filter((sql) => sql.includes('legal_persons'))).toHaveLength(1);

    // 用户空间 asks the enterprise for its own password (it has no phone to sign in with).
    const security = await again.follow(await again.get(`${server.issuer}/account/security`));
    const changed = await submit(again, security, '/account/security/password', {
      current_password: PASSWORD,
      new_password: 'Qiye-Mima#2025x',
      new_password_confirm: 'Qiye-Mima#2025x',
    });
    expect(messageOf(changed)).toBe('修改成功');
  });

  it('locks the credit-code login like a citizen’s: captcha after three failures, locked after ten', async () => {
    const rep = await representative(server, '沈葆桢');
    const code = randomCreditCode();
    const accountId = await registerEnterprise(server, rep, code, '福建船政有限公司');
    // Earlier tests' failures from 127.0.0.1 count too; this one is about the credit code's counter.
    await server.database.db('rate_limits').where('key', 'like', 'loginfail:ip:%').delete();
    const ua = new UserAgent();
    const start = await beginAuthorization(ua, rp, { scope: 'openid enterprise' });
    let page = await ua.get(`${start.page.url}?tab=legal`);
    for (let i = 1; i <= 10; i++) {
      const form: Record<string, string> = { login: code, password: `wrong-${i}-pass` };
      expect(page.body.includes('name="captcha"')).toBe(i > 3);
      if (i > 3) form['captcha'] = await solveCaptcha(ua, server, page);
      page = await submit(ua, page, '/login-legal', form);
      expect(messageOf(page)).toBe('账号或密码错误');
      expect(page.body).toContain('/login-legal');
    }
    const locked = await submit(ua, page, '/login-legal', {
      login: code,
      password: PASSWORD,
      captcha: await solveCaptcha(ua, server, page),
    });
    expect(messageOf(locked)).toBe('账号或密码错误');
    const row = await server.database.db('accounts').where({ id: accountId }).first();
    expect(new Date(row.password_locked_until).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);
  });

  it('refuses bad codes, an unverified or misnamed representative and a taken code, writing nothing', async () => {
    const rep = await representative(server, '左宗棠');
    const taken = randomCreditCode();
    await registerEnterprise(server, rep, taken, '已注册公司');
    await addCitizen(server, PASSWORD);
    const good = randomCreditCode();
    const cases: [Record<string, string>, string][] = [
      [
        { credit_code: `${good.slice(0, 17)}${good.endsWith('1') ? '2' : '1'}` },
        '统一社会信用代码校验位不正确',
      ],
      [{ credit_code: randomCreditCode('92') }, '企业的代码应以 91 开头'],
      [
        { representative_id_number: randomIdNumber('19800101') },
        '法定代表人须先注册自然人账号并完成实名认证',
      ],
      [{ representative_name: '张冠李戴' }, '法定代表人姓名与其实名认证信息不一致'],
      [{ credit_code: taken }, '该统一社会信用代码已注册，请直接登录或找回密码'],
    ];
    const before = await legalPersonsAndAccounts(server);
    const ua = new UserAgent();
    const { sent } = await legalForm(server, rp, ua, rep.phone);
    let page: PageResponse = sent;
    for (const [override, message] of cases) {
      page = await submit(ua, sent, '/register/legal', {
        ...fields(rep, good, override),
        sms_code: '000000',
      });
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(messageOf(page)).toContain(message);
    }
    expect(await legalPersonsAndAccounts(server)).toEqual(before);
    // The SMS code was not spent by any of these: it still registers.
    const ok = await submit(ua, page, '/register/legal', {
      ...fields(rep, good),
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    expect(ok.body).toContain('绑定证书');
    expect(await legalPersonsAndAccounts(server)).toEqual([before[0]! + 1, before[1]! + 1]);
  });
});

describe('法人 registration against the enterprise registry over HTTP', () => {
  const secret = 'enterprise-registry-shared-secret';
  let server: TestServer;
  let rp: RelyingParty;
  let registry: Awaited<ReturnType<typeof startFakeEnterpriseVerifier>>;
  const code = '91350100M000100Y43';

  beforeAll(async () => {
    registry = await startFakeEnterpriseVerifier(secret, [
      { creditCode: code, orgName: '福建真实公司', representativeName: '郑成功' },
    ]);
    server = await startTestServer({
      env: {
        ENTERPRISE_VERIFIER: 'http',
        ENTERPRISE_VERIFIER_URL: registry.url,
        ENTERPRISE_VERIFIER_APP_ID: 'unified-id',
        ENTERPRISE_VERIFIER_SECRET: secret,
        ENTERPRISE_VERIFIER_TIMEOUT_MS: '500',
      },
    });
    rp = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
  });
  afterAll(async () => {
    await server?.close();
    await registry?.close();
  });

  /** A fresh form and SMS code (the registry is asked only after the code is spent). */
  async function attempt(rep: Representative, override: Record<string, string>) {
    await server.database.db('sms_codes').update({ created_at: new Date(Date.now() - 120_000) });
    const ua = new UserAgent();
    const { sent } = await legalForm(server, rp, ua, rep.phone);
    return submit(ua, sent, '/register/legal', {
      ...fields(rep, override['credit_code'] ?? code, override),
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
  }

  it('refuses a mismatch, an unknown code and a registry that is down (503), then registers on a match', async () => {
    const rep = await representative(server, '郑成功');
    const before = await legalPersonsAndAccounts(server);

    const mismatch = await attempt(rep, { org_name: '别的名字公司' });
    expect(mismatch.status).toBe(400);
    expect(messageOf(mismatch)).toBe('企业信息核验未通过：机构名称、统一社会信用代码与法定代表人不一致');
    expect(registry.received.at(-1)).toEqual({
      creditCode: code,
      orgName: '别的名字公司',
      legalType: 'enterprise',
      representativeName: '郑成功',
      representativeIdNumber: rep.idNumber,
    });

    const unknown = await attempt(rep, { credit_code: randomCreditCode() });
    expect(unknown.status).toBe(400);
    expect(messageOf(unknown)).toBe('未查询到该企业（机构）的登记信息，请核对统一社会信用代码');

    registry.faults.down = true;
    const down = await attempt(rep, { org_name: '福建真实公司' });
    registry.faults.down = false;
    expect(down.status).toBe(503);
    expect(messageOf(down)).toBe('企业信息核验服务暂不可用，请稍后重试');
    expect(await legalPersonsAndAccounts(server)).toEqual(before);

    const ok = await attempt(rep, { org_name: '福建真实公司' });
    expect(ok.body).toContain('绑定证书');
    expect(await legalPersonsAndAccounts(server)).toEqual([before[0]! + 1, before[1]! + 1]);
    const row = await server.database.db('legal_persons').where({ credit_code: code }).first();
    expect(row).toMatchObject({
      org_name: '福建真实公司',
      legal_type: 'enterprise',
      contact_phone: `+86${rep.phone}`,
    });
    expect(row.verified_at).not.toBeNull();
    const account = await server.database.db('accounts').where({ id: row.account_id }).first();
    expect(account).toMatchObject({ user_type: 'legal_person', certification_level: 'L2', phone: null });
  });
});
