import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alipayCertifyStartPath } from '../../src/account-space/alipay-certify-routes.js';
import {
  type AlipayFake,
  alipayCases,
  alipayLinkOf,
  alipayUser,
  authorizeAtAlipay,
  healthy,
  idNumberFor,
  startAlipayFake,
} from '../support/alipay.js';
import { addCitizen, alertOf, continueFrom, messageOf, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Feng-Yi#2024';

const USERS = {
  requiredLevel: alipayUser(21, { userName: '冯一' }),
  idTaken: alipayUser(22, { userName: '陈二' }),
  afterRegistration: alipayUser(23, { userName: '褚三' }),
  accountSpace: alipayUser(24, { userName: '卫四' }),
  sameIdentity: alipayUser(25, { userName: '蒋五' }),
  otherIdentity: alipayUser(26, { userName: '沈六' }),
  uncertified: alipayUser(27, { isCertified: false }),
  faulty: alipayUser(28, { userName: '韩七' }),
};

describe.each(alipayCases(databaseKinds()))(
  '支付宝认证 against the fake Alipay over HTTP (%s, %s)',
  (kind, keyMode) => {
    let fake: AlipayFake;
    let server: TestServer;
    let rp: RelyingParty;
    let requiresL2: RelyingParty;

    beforeAll(async () => {
      fake = await startAlipayFake(Object.values(USERS), keyMode);
      server = await startTestServer({ kind, env: fake.env });
      rp = await registerRelyingParty(server, { firstParty: true });
      requiresL2 = await registerRelyingParty(server, { firstParty: true, requireLevel: 'L2' });
    });
    afterAll(async () => {
      await server?.close();
      await fake?.alipay.close();
    });
    afterEach(() => healthy(fake));

    const accountRow = (id: string) => server.database.db('accounts').where({ id }).first();
    const linkOf = (id: string) => server.database.db('alipay_links').where({ account_id: id }).first();

    describe('in a sign-in at a site that requires L2', () => {
      it('raises an L1 citizen to L2 with Alipay’s certified name and ID number, and links the Alipay user', async () => {
        const user = USERS.requiredLevel;
        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        const { response: page, ...start } = await authorize(ua, requiresL2, {
          login: { login: phone, password: PASSWORD },
        });
        expect(page.body).toContain('要求实名认证');
        const back = await authorizeAtAlipay(ua, alipayLinkOf(page, '支付宝认证'), user.userId);
        // The same 实名认证成功 page as the ID-number path, then 继续.
        const verified = await ua.follow(back, requiresL2.redirectUri);
        expect(verified.body).toContain('实名认证成功！您的认证等级已提升为实名用户（L2）');
        const done = await continueFrom(ua, verified, requiresL2.redirectUri);
        const { tokens } = await completeAuthorization(ua, requiresL2, start, done);
        expect(tokens!.claims()!['certification_level']).toBe('L2');
        const row = await accountRow(id);
        expect(row.verification_method).toBe('alipay');
        expect(server.services.accounts.identityOf(row)).toMatchObject({
          realName: '冯一',
          idNumber: user.certNo,
        });
        expect(await linkOf(id)).toBeTruthy();

        // From now on 支付宝登录 signs in to this account.
        const other = new UserAgent();
        const viaAlipay = await beginAuthorization(other, rp);
        const signedIn = await other.follow(
          await authorizeAtAlipay(other, alipayLinkOf(viaAlipay.page, '支付宝登录'), user.userId),
          rp.redirectUri,
        );
        const again = await completeAuthorization(other, rp, viaAlipay, signedIn);
        expect(again.tokens!.claims()!.sub).toBe(id);
      });

      it('refuses an ID number that belongs to another account, on the 实名认证 page, writing nothing', async () => {
        const user = USERS.idTaken;
        await addCitizen(server, PASSWORD, { realName: '陈二', idNumber: user.certNo! });
        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        const { response: page } = await authorize(ua, requiresL2, {
          login: { login: phone, password: PASSWORD },
        });
        const back = await authorizeAtAlipay(ua, alipayLinkOf(page, '支付宝认证'), user.userId);
        const refused = await ua.follow(back, requiresL2.redirectUri);
        expect(refused.status).toBe(409);
        expect(alertOf(refused)).toContain('该身份证号码已被其他账号实名认证');
        expect(refused.body).toContain('支付宝认证');
        expect((await accountRow(id)).certification_level).toBe('L1');
        expect(await linkOf(id)).toBeUndefined();
      });

      it('refuses an uncertified Alipay user and a gateway failure on the same page, writing nothing', async () => {
        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        const { response: page } = await authorize(ua, requiresL2, {
          login: { login: phone, password: PASSWORD },
        });
        const uncertified = await ua.follow(
          await authorizeAtAlipay(ua, alipayLinkOf(page, '支付宝认证'), USERS.uncertified.userId),
          requiresL2.redirectUri,
        );
        expect(uncertified.status).toBe(403);
        expect(alertOf(uncertified)).toContain('需要已完成实名认证');

        const broken = await ua.follow(
          await authorizeAtAlipay(ua, alipayLinkOf(uncertified, '支付宝认证'), USERS.faulty.userId, () => {
            fake.alipay.faults.badSignature = true;
          }),
          requiresL2.redirectUri,
        );
        expect(broken.status).toBe(502);
        expect(messageOf(broken)).toContain('支付宝登录暂不可用');
        expect((await accountRow(id)).verified_at).toBeNull();
        expect(await linkOf(id)).toBeUndefined();
      });
    });

    it('offers 支付宝认证 right after 注册 too', async () => {
      const user = USERS.afterRegistration;
      const { id } = await addCitizen(server, PASSWORD);
      // The registration's 实名认证 step, as register-routes leaves it for this interaction.
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, rp);
      const uid = interactionUid(start.page);
      await server.services.flowStates.put('register', uid, { accountId: id });
      const realname = await ua.get(`${server.url}/interaction/${uid}/realname`);
      const verified = await ua.follow(
        await authorizeAtAlipay(ua, alipayLinkOf(realname, '支付宝认证'), user.userId),
        rp.redirectUri,
      );
      expect(verified.body).toContain('实名认证成功！您的认证等级已提升为实名用户（L2）');
      const done = await continueFrom(ua, verified, rp.redirectUri);
      const { tokens } = await completeAuthorization(ua, rp, start, done);
      expect(tokens!.claims()!.sub).toBe(id);
      expect(tokens!.claims()!['certification_level']).toBe('L2');
    });

    describe('from 用户空间 (GET /alipay/certify/start?return=/account/level)', () => {
      async function certifyFromAccountSpace(ua: UserAgent, userId: string, beforeChoosing?: () => void) {
        const back = await authorizeAtAlipay(
          ua,
          `${server.issuer}${alipayCertifyStartPath('/account/level')}`,
          userId,
          beforeChoosing,
        );
        return ua.get(back.location!);
      }

      it('raises a signed-in L1 citizen to L2 from 认证等级, shows the link masked in 安全设置, and unlinks it', async () => {
        const user = USERS.accountSpace;
        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        await authorize(ua, rp, { login: { login: phone, password: PASSWORD } });
        const level = await ua.follow(await ua.get(`${server.issuer}/account/level`));
        expect(level.body).toContain('id="level">未实名用户（L1）<');
        const back = await authorizeAtAlipay(ua, alipayLinkOf(level, '支付宝认证'), user.userId);
        const page = await ua.get(back.location!);
        expect(page.status).toBe(200);
        expect(messageOf(page)).toContain('认证等级为 L2');
        expect(page.body).toContain('href="/account/level"');
        const row = await accountRow(id);
        expect(row.certification_level).toBe('L2');
        expect(server.services.accounts.identityOf(row)).toMatchObject({
          realName: '卫四',
          idNumber: user.certNo,
        });
        const masked = `2088********${user.userId.slice(-4)}`;
        expect(await server.services.alipay.linkedAccountOf(id)).toMatchObject({
          alipayUserMasked: masked,
          idKind: 'user_id',
        });

        const security = await ua.get(`${server.issuer}/account/security`);
        expect(security.body).toContain(`已关联支付宝账户 ${masked}`);
        expect(security.body).not.toContain(user.userId);
        // The account has a password, so 解除绑定 is allowed.
        const unlinked = await submit(ua, security, '/account/security/alipay/unlink', {});
        expect(messageOf(unlinked)).toBe('已解除与支付宝账户的绑定');
        expect(unlinked.body).toContain('未关联支付宝账户');
        expect(await linkOf(id)).toBeUndefined();
        const audit = await server.database
          .db('audit_events')
          .where({ account_id: id, type: 'alipay_unlink' })
          .first();
        expect(audit).toMatchObject({ outcome: 'success' });
        expect(JSON.stringify(audit)).not.toContain(user.userId);
      });

      it('accepts Alipay’s identity when it is the verified account’s own', async () => {
        const user = USERS.sameIdentity;
        const { phone, id } = await addCitizen(server, PASSWORD, {
          realName: '蒋五',
          idNumber: user.certNo!,
        });
        const ua = new UserAgent();
        await authorize(ua, rp, { login: { login: phone, password: PASSWORD } });
        const page = await certifyFromAccountSpace(ua, user.userId);
        expect(messageOf(page)).toContain('已关联该支付宝账户');
        expect((await accountRow(id)).verification_method).toBe('id_card');
        expect(await linkOf(id)).toBeTruthy();
      });

      it('refuses Alipay’s identity when it differs from the verified account’s, writing nothing', async () => {
        const { phone, id } = await addCitizen(server, PASSWORD, {
          realName: '杨八',
          idNumber: idNumberFor(29),
        });
        const ua = new UserAgent();
        await authorize(ua, rp, { login: { login: phone, password: PASSWORD } });
        const page = await certifyFromAccountSpace(ua, USERS.otherIdentity.userId);
        expect(page.status).toBe(409);
        expect(messageOf(page)).toContain('实名信息与该账号已认证的姓名和身份证号码不一致');
        expect(page.body).toContain('返回用户空间');
        expect(await linkOf(id)).toBeUndefined();
      });

      it('shows a clear page when the gateway is down, and writes nothing', async () => {
        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        await authorize(ua, rp, { login: { login: phone, password: PASSWORD } });
        const page = await certifyFromAccountSpace(ua, USERS.faulty.userId, () => {
          fake.alipay.faults.down = true;
        });
        expect(page.status).toBe(503);
        expect(messageOf(page)).toContain('支付宝服务暂不可用');
        expect((await accountRow(id)).certification_level).toBe('L1');
      });

      it('sends a browser without a session back to the account space, and refuses another session’s callback', async () => {
        const anonymous = new UserAgent();
        const res = await anonymous.get(`${server.issuer}${alipayCertifyStartPath('/account/level')}`);
        expect(res.status).toBe(302);
        expect(res.location).toBe(`${server.issuer}/account/level`);
        const offsite = await anonymous.get(
          `${server.issuer}/alipay/certify/start?return=https://evil.example/`,
        );
        expect(offsite.location).toBe(`${server.issuer}/account/level`);

        const { phone, id } = await addCitizen(server, PASSWORD);
        const ua = new UserAgent();
        await authorize(ua, rp, { login: { login: phone, password: PASSWORD } });
        const back = await authorizeAtAlipay(
          ua,
          `${server.issuer}${alipayCertifyStartPath()}`,
          USERS.faulty.userId,
        );
        const stolen = await anonymous.get(back.location!);
        expect(stolen.status).toBe(400);
        expect(messageOf(stolen)).toContain('支付宝授权已过期或无效');
        expect((await accountRow(id)).certification_level).toBe('L1');
      });
    });
  },
);
