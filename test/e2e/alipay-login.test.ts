import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlipayFake,
  alipayCases,
  alipayLinkOf,
  alipayUser,
  authorizeAtAlipay,
  healthy,
  startAlipayFake,
} from '../support/alipay.js';
import { addCitizen, latestSmsCode, messageOf, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  beginAuthorization,
  completeAuthorization,
  type RelyingParty,
  randomPhone,
  registerRelyingParty,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Zhao-Liu#2024';

// Each story has its own invented Alipay user, so the stories do not depend on their order.
const USERS = {
  newWithMobile: alipayUser(1, { userName: '赵六' }),
  newWithoutMobile: alipayUser(2, { userName: '钱七', mobile: undefined }),
  mobileTaken: alipayUser(3, { userName: '孙八' }),
  idTakenPassword: alipayUser(4, { userName: '周九' }),
  idTakenSms: alipayUser(5, { userName: '吴十' }),
  uncertified: alipayUser(6, {
    isCertified: false,
    userName: undefined,
    certType: undefined,
    certNo: undefined,
  }),
  faulty: alipayUser(7, { userName: '郑一' }),
  passport: alipayUser(8, { userName: '王二', certType: '1' }),
  otherName: alipayUser(9, { userName: '李四' }),
};

describe.each(alipayCases(databaseKinds()))(
  '支付宝登录 against the fake Alipay over HTTP (%s, %s)',
  (kind, keyMode) => {
    let fake: AlipayFake;
    let server: TestServer;
    let rp: RelyingParty;

    beforeAll(async () => {
      fake = await startAlipayFake(Object.values(USERS), keyMode);
      // A short timeout so the slow-gateway case below ends quickly.
      server = await startTestServer({ kind, env: { ...fake.env, ALIPAY_TIMEOUT_MS: '1000' } });
      rp = await registerRelyingParty(server, { scopes: ['openid', 'profile', 'phone', 'identity'] });
    });
    afterAll(async () => {
      await server?.close();
      await fake?.alipay.close();
    });
    afterEach(() => healthy(fake));

    const db = () => server.database.db;
    const snapshot = async () => ({
      accounts: await rowCount(server, 'accounts'),
      links: await rowCount(server, 'alipay_links'),
      verified: Number((await db()('accounts').whereNotNull('verified_at').count({ n: '*' }))[0]!.n),
    });

    /** The site's login page, 支付宝登录, and the person agreeing at Alipay as `userId`. */
    async function viaAlipay(ua: UserAgent, userId: string, beforeChoosing?: () => void) {
      const start = await beginAuthorization(ua, rp, { scope: 'openid profile phone identity' });
      expect(start.page.body).toContain('支付宝登录');
      const back = await authorizeAtAlipay(
        ua,
        alipayLinkOf(start.page, '支付宝登录'),
        userId,
        beforeChoosing,
      );
      return { start, back, page: await ua.follow(back, rp.redirectUri) };
    }

    async function signedIn(ua: UserAgent, start: { verifier: string; state: string }, page: PageResponse) {
      const { tokens } = await completeAuthorization(ua, rp, start, page);
      return tokens!.claims()!;
    }

    it('creates a real-name account for a new certified user with Alipay’s mobile, then signs it straight in', async () => {
      const user = USERS.newWithMobile;
      const ua = new UserAgent();
      const { start, page } = await viaAlipay(ua, user.userId);
      expect(page.body).toContain('支付宝关联注册');
      expect(page.body).toContain('赵*');
      expect(page.body).toContain(`${user.certNo!.slice(0, 4)}**********${user.certNo!.slice(14)}`);
      expect(page.body).toContain('137****0001');
      expect(page.body).not.toContain(user.certNo!);

      // The terms must be agreed to first; nothing is created before.
      const before = await snapshot();
      const refused = await submit(ua, page, '/alipay/register', { action: 'register' });
      expect(messageOf(refused)).toBe('请阅读并同意《用户注册协议》');
      expect(await snapshot()).toEqual(before);

      const done = await submit(
        ua,
        refused,
        '/alipay/register',
        { action: 'register', agree: 'yes' },
        rp.redirectUri,
      );
      const claims = await signedIn(ua, start, done);
      expect(claims['certification_level']).toBe('L2');
      expect(claims['acr']).toBe('urn:unified-id:acr:basic');
      expect(claims['amr']).toEqual(['alipay']);

      const row = await db()('accounts').where({ id: claims.sub }).first();
      expect(row.phone).toBe(`+86${user.mobile}`);
      expect(row.password_hash).toBeNull();
      expect(row.verification_method).toBe('alipay');
      expect(row.real_name).not.toContain('赵');
      expect(server.services.accounts.identityOf(row)).toEqual({
        realName: '赵六',
        idNumber: user.certNo,
        idType: 'resident_id_card',
      });
      const link = await db()('alipay_links').where({ account_id: claims.sub }).first();
      expect(link.id_kind).toBe('user_id');
      expect(JSON.stringify(link)).not.toContain(user.userId);
      expect(await server.services.alipay.linkedAccountOf(claims.sub)).toMatchObject({
        alipayUserMasked: `2088********${user.userId.slice(-4)}`,
      });

      // The next time, Alipay alone signs in to the same account.
      const again = new UserAgent();
      const second = await viaAlipay(again, user.userId);
      const claimsAgain = await signedIn(again, second.start, second.page);
      expect(claimsAgain.sub).toBe(claims.sub);
      expect(claimsAgain['amr']).toEqual(['alipay']);
      expect(await snapshot()).toEqual({
        ...before,
        accounts: before.accounts + 1,
        links: before.links + 1,
        verified: before.verified + 1,
      });
    });

    it('lets an Alipay-created account set a password through 忘记密码 and sign in either way; 解除绑定 only then', async () => {
      const user = USERS.newWithMobile;
      const account = await server.services.accounts.findByPhone(`+86${user.mobile}`);
      const viaAlipayOnly = new UserAgent();
      const first = await viaAlipay(viaAlipayOnly, user.userId);
      expect((await signedIn(viaAlipayOnly, first.start, first.page)).sub).toBe(account!.id);
      // 用户空间 signs in with its own round trip, which the SSO session answers without a page.
      const security = await viaAlipayOnly.follow(
        await viaAlipayOnly.get(`${server.issuer}/account/security`),
      );
      expect(security.body).toContain(`已关联支付宝账户 2088********${user.userId.slice(-4)}`);
      const refused = await submit(viaAlipayOnly, security, '/account/security/alipay/unlink', {});
      expect(refused.status).toBe(409);
      expect(messageOf(refused)).toContain('尚未设置登录密码');
      expect(await server.services.alipay.linkedAccountOf(account!.id)).toBeDefined();

      const ua = new UserAgent();
      const start = await beginAuthorization(ua, rp);
      const forgot = await ua.get(new URL(/href="([^"]+\/forgot)"/.exec(start.page.body)![1]!, server.url));
      const codeStep = await submit(ua, forgot, '/forgot', {
        phone: user.mobile!,
        captcha: await solveCaptcha(ua, server, forgot),
      });
      const passwordStep = await submit(ua, codeStep, '/forgot/code', {
        sms_code: (await latestSmsCode(server, user.mobile!))!,
      });
      const reset = await submit(ua, passwordStep, '/forgot/password', {
        password: PASSWORD,
        password_confirm: PASSWORD,
      });
      expect(messageOf(reset)).toBe('密码已重置，请使用新密码登录');
      const done = await submit(
        ua,
        reset,
        '/login',
        { login: user.certNo!, password: PASSWORD },
        rp.redirectUri,
      );
      expect((await signedIn(ua, start, done)).sub).toBe(account!.id);

      const other = new UserAgent();
      const viaAlipayAgain = await viaAlipay(other, user.userId);
      expect((await signedIn(other, viaAlipayAgain.start, viaAlipayAgain.page)).sub).toBe(account!.id);

      const again = await other.follow(await other.get(`${server.issuer}/account/security`));
      const unlinked = await submit(other, again, '/account/security/alipay/unlink', {});
      expect(messageOf(unlinked)).toBe('已解除与支付宝账户的绑定');
      expect(await server.services.alipay.linkedAccountOf(account!.id)).toBeUndefined();
      expect(await server.services.alipay.unlink(account!)).toBeUndefined();
    });

    it('asks for a phone and an SMS code when Alipay gives no mobile', async () => {
      const user = USERS.newWithoutMobile;
      const ua = new UserAgent();
      const { start, page } = await viaAlipay(ua, user.userId);
      expect(page.body).toContain('支付宝未提供手机号');
      const phone = randomPhone();
      const sent = await submit(ua, page, '/alipay/register', {
        phone,
        captcha: await solveCaptcha(ua, server, page),
        action: 'send_sms',
      });
      expect(messageOf(sent)).toContain('验证码已发送');
      const before = await snapshot();
      const wrong = await submit(ua, sent, '/alipay/register', {
        phone,
        sms_code: '000000',
        agree: 'yes',
        action: 'register',
      });
      expect(messageOf(wrong)).toBe('短信验证码错误或已过期');
      expect(await snapshot()).toEqual(before);

      const done = await submit(
        ua,
        wrong,
        '/alipay/register',
        { phone, sms_code: (await latestSmsCode(server, phone))!, agree: 'yes', action: 'register' },
        rp.redirectUri,
      );
      const claims = await signedIn(ua, start, done);
      expect(claims['certification_level']).toBe('L2');
      expect(claims['amr']).toEqual(['alipay', 'sms']);
      expect((await db()('accounts').where({ id: claims.sub }).first()).phone).toBe(`+86${phone}`);
    });

    it('asks for another phone when Alipay’s mobile already belongs to another account', async () => {
      const user = USERS.mobileTaken;
      await server.services.accounts.addCitizen({ phone: user.mobile!, password: PASSWORD });
      const ua = new UserAgent();
      const { start, page } = await viaAlipay(ua, user.userId);
      expect(page.body).toContain('支付宝绑定的手机号已被其他账号使用');
      const phone = randomPhone();
      const sent = await submit(ua, page, '/alipay/register', {
        phone,
        captcha: await solveCaptcha(ua, server, page),
        action: 'send_sms',
      });
      const done = await submit(
        ua,
        sent,
        '/alipay/register',
        { phone, sms_code: (await latestSmsCode(server, phone))!, agree: 'yes', action: 'register' },
        rp.redirectUri,
      );
      const claims = await signedIn(ua, start, done);
      expect((await db()('accounts').where({ id: claims.sub }).first()).phone).toBe(`+86${phone}`);
    });

    it('asks a person whose ID number has an account to sign in to it with the password, and links it', async () => {
      const user = USERS.idTakenPassword;
      const existing = await addCitizen(server, PASSWORD, { realName: '周九', idNumber: user.certNo! });
      const ua = new UserAgent();
      const { start, page } = await viaAlipay(ua, user.userId);
      expect(page.body).toContain('关联已有账号');
      expect(page.body).toContain(`${existing.phone.slice(0, 3)}****${existing.phone.slice(7)}`);

      const before = await snapshot();
      const wrong = await submit(ua, page, '/alipay/link', { password: 'Wrong-Pass#1', action: 'password' });
      expect(wrong.status).toBe(401);
      expect(messageOf(wrong)).toBe('账号或密码错误');
      expect(await snapshot()).toEqual(before);

      const done = await submit(
        ua,
        wrong,
        '/alipay/link',
        { password: PASSWORD, action: 'password' },
        rp.redirectUri,
      );
      const claims = await signedIn(ua, start, done);
      expect(claims.sub).toBe(existing.id);
      expect(claims['amr']).toEqual(['alipay', 'pwd']);
      expect(await snapshot()).toEqual({ ...before, links: before.links + 1 });

      // Linked now: Alipay alone signs in.
      const again = new UserAgent();
      const second = await viaAlipay(again, user.userId);
      expect((await signedIn(again, second.start, second.page)).sub).toBe(existing.id);
    });

    it('links the existing account after an SMS code to its phone instead', async () => {
      const user = USERS.idTakenSms;
      const existing = await addCitizen(server, PASSWORD, { realName: '吴十', idNumber: user.certNo! });
      const ua = new UserAgent();
      const { start, page } = await viaAlipay(ua, user.userId);
      const smsTab = await ua.get(`${server.url}${new URL(page.url).pathname}?tab=sms`);
      const sent = await submit(ua, smsTab, '/alipay/link', {
        captcha: await solveCaptcha(ua, server, smsTab),
        action: 'send_sms',
      });
      expect(messageOf(sent)).toContain('验证码已发送');
      const done = await submit(
        ua,
        sent,
        '/alipay/link',
        { sms_code: (await latestSmsCode(server, existing.phone))!, action: 'sms' },
        rp.redirectUri,
      );
      const claims = await signedIn(ua, start, done);
      expect(claims.sub).toBe(existing.id);
      expect(claims['amr']).toEqual(['alipay', 'sms']);
    });

    it('refuses to link an account whose verified name is not Alipay’s, before asking for its password', async () => {
      const user = USERS.otherName;
      await addCitizen(server, PASSWORD, { realName: '李思', idNumber: user.certNo! });
      const before = await snapshot();
      const { page } = await viaAlipay(new UserAgent(), user.userId);
      expect(page.status).toBe(409);
      expect(messageOf(page)).toContain('实名信息与该账号已认证的姓名和身份证号码不一致');
      expect(await snapshot()).toEqual(before);
    });

    it('tells an uncertified Alipay user that Alipay login needs a real-name account, and offers registration', async () => {
      const before = await snapshot();
      for (const user of [USERS.uncertified, USERS.passport]) {
        const ua = new UserAgent();
        const { page } = await viaAlipay(ua, user.userId);
        expect(page.status).toBe(403);
        expect(messageOf(page)).toContain('支付宝登录需要已完成实名认证（居民身份证）的支付宝账户');
        expect(page.body).toMatch(/href="\/interaction\/[\w-]+\/register"/);
      }
      expect(await snapshot()).toEqual(before);
    });

    describe('every failure shows a clear page and writes nothing', () => {
      const faults: [string, (f: AlipayFake) => void, number, string][] = [
        [
          'a response signature that does not verify',
          (f) => (f.alipay.faults.badSignature = true),
          502,
          '支付宝登录暂不可用',
        ],
        ['an unsigned response', (f) => (f.alipay.faults.unsigned = true), 502, '支付宝登录暂不可用'],
        [
          'a gateway error (sub_code)',
          (f) => (f.alipay.faults.errorSubCode = 'isp.unknow-error'),
          502,
          '支付宝授权未成功',
        ],
        [
          'the gateway slower than ALIPAY_TIMEOUT_MS',
          (f) => (f.alipay.faults.delayMs = 3_000),
          504,
          '支付宝服务响应超时',
        ],
        ['the gateway down (HTTP 503)', (f) => (f.alipay.faults.down = true), 503, '支付宝服务暂不可用'],
        [
          'the gateway dropping the connection',
          (f) => Object.assign(f.alipay.faults, { down: true, downMode: 'reset' }),
          503,
          '支付宝服务暂不可用',
        ],
      ];

      it.each(faults)('%s', async (_name, fault, status, message) => {
        const before = await snapshot();
        const ua = new UserAgent();
        const { page } = await viaAlipay(ua, USERS.faulty.userId, () => fault(fake));
        expect(page.status).toBe(status);
        expect(messageOf(page)).toContain(message);
        expect(page.body).toContain('返回登录');
        expect(await snapshot()).toEqual(before);
      });

      it('a registration or link page whose Alipay login has expired, or never began', async () => {
        const ua = new UserAgent();
        const { page } = await beginAuthorization(ua, rp);
        for (const step of ['register', 'link']) {
          const res = await ua.get(new URL(`${new URL(page.url).pathname}/alipay/${step}`, server.url));
          expect(res.status).toBe(400);
          expect(messageOf(res)).toContain('支付宝登录已过期');
          expect(res.body).toContain('返回登录');
        }
      });

      it('an expired auth_code', async () => {
        const before = await snapshot();
        const ua = new UserAgent();
        const start = await beginAuthorization(ua, rp);
        const back = await authorizeAtAlipay(ua, alipayLinkOf(start.page, '支付宝登录'), USERS.faulty.userId);
        fake.skewMs = 6 * 60 * 1000; // auth_codes live five minutes
        const page = await ua.follow(back, rp.redirectUri);
        expect(page.status).toBe(400);
        expect(messageOf(page)).toContain('授权码已使用或已过期');
        expect(await snapshot()).toEqual(before);
      });

      it('a reused auth_code, and a replayed callback', async () => {
        const ua = new UserAgent();
        const first = await viaAlipay(ua, USERS.faulty.userId);
        expect(first.page.body).toContain('支付宝关联注册');
        const spentCode = new URL(first.back.location!).searchParams.get('auth_code')!;

        // The same callback again: its state is spent.
        const replay = await ua.follow(await ua.get(first.back.location!), rp.redirectUri);
        expect(replay.status).toBe(400);
        expect(messageOf(replay)).toContain('支付宝授权已过期或无效');

        // A fresh state with the spent code: Alipay refuses the code.
        const before = await snapshot();
        const other = new UserAgent();
        const start = await beginAuthorization(other, rp);
        const toAlipay = await other.get(alipayLinkOf(start.page, '支付宝登录'));
        const state = new URL(toAlipay.location!).searchParams.get('state')!;
        const forged = new URL(`${server.issuer}/alipay/callback`);
        forged.search = new URLSearchParams({ auth_code: spentCode, state, scope: 'auth_user' }).toString();
        const page = await other.follow(await other.get(forged), rp.redirectUri);
        expect(page.status).toBe(400);
        expect(messageOf(page)).toContain('授权码已使用或已过期');
        expect(await snapshot()).toEqual(before);
      });

      it('a state from another browser, or none, before anything is asked of Alipay', async () => {
        const before = await snapshot();
        const victim = new UserAgent();
        const start = await beginAuthorization(victim, rp);
        const back = await authorizeAtAlipay(
          victim,
          alipayLinkOf(start.page, '支付宝登录'),
          USERS.faulty.userId,
        );
        const attacker = new UserAgent();
        const stolen = await attacker.follow(await attacker.get(back.location!), rp.redirectUri);
        expect(stolen.status).toBe(400);
        const none = await attacker.get(`${server.issuer}/alipay/callback?auth_code=abc`);
        expect(none.status).toBe(400);
        expect(messageOf(none)).toContain('支付宝授权已过期或无效');
        expect(await snapshot()).toEqual(before);
      });
    });
  },
);

describe('without Alipay settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('offers no 支付宝登录 and refuses to start one', async () => {
    const rp = await registerRelyingParty(server);
    const ua = new UserAgent();
    const { page } = await beginAuthorization(ua, rp);
    expect(page.body).toContain('密码登录');
    expect(page.body).not.toContain('支付宝');
    const refused = await ua.get(`${page.url}/alipay`);
    expect(refused.status).toBe(404);
    expect(messageOf(refused)).toBe('本平台未开通支付宝登录');
  });
});
