import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { addCitizen, latestSmsCode, messageOf, randomIdNumber, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { registerEnterpriseUnder } from '../support/enterprise.js';
import {
  beginAuthorization,
  type RelyingParty,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Cao-Cao#2024';

describe.each(databaseKinds())(
  '用户空间 says what happened, in the words of the person or enterprise (%s)',
  (kind) => {
    let server: TestServer;
    let site: RelyingParty;

    beforeAll(async () => {
      server = await startTestServer({ kind });
      site = await registerRelyingParty(server, { scopes: ['openid', 'profile', 'phone', 'enterprise'] });
    });
    afterAll(() => server?.close());

    /** The account space of a browser already signed in at the provider. */
    const open = async (ua: UserAgent, path = '/account') => ua.follow(await ua.get(`${server.url}${path}`));

    it('an L1 citizen is offered 去认证, verifies in 认证等级 through reloadable steps, and the signed-in site sees L2 at once', async () => {
      const { phone } = await addCitizen(server, PASSWORD);
      const ua = new UserAgent();
      const { tokens } = await signIn(ua, site, { login: { login: phone, password: PASSWORD } });
      expect(tokens.claims()!['certification_level']).toBe('L1');

      const profile = await open(ua);
      expect(profile.body).toContain('未实名用户（L1）');
      expect(profile.body).toMatch(/<a href="\/account\/level" class="button">去认证<\/a>/);
      // 切换站点: the site used is a link to it.
      expect(profile.body).toContain('切换站点');
      expect(profile.body).toContain('href="https://rp.example.gov.cn/"');
      // The header's 统一身份认证平台 is a link.
      expect(profile.body).toMatch(/<a href="\/account" class="brand">统一身份认证平台<\/a>/);

      const level = await open(ua, '/account/level');
      const sent = await submit(ua, level, '/account/level/send-sms', {});
      expect(sent.url).toBe(`${server.url}/account/level?sent=1`);
      expect(messageOf(sent)).toContain('验证码已发送');
      const checked = await submit(ua, sent, '/account/level/check-sms', {
        sms_code: (await latestSmsCode(server, phone))!,
      });
      // The verified step is a GET page: reloading it keeps it.
      const reloaded = await ua.get(checked.url);
      expect(reloaded.body).toContain('name="real_name"');
      const done = await submit(ua, reloaded, '/account/level/verify', {
        real_name: '曹操',
        id_number: randomIdNumber(),
      });
      expect(messageOf(done)).toContain('实名认证成功！您的认证等级已提升为实名用户（L2）');
      expect(messageOf(done)).toContain('无需您重新登录');

      // The site's existing access token already reads the new level.
      const userinfo = await oidc.fetchUserInfo(site.config, tokens.access_token, tokens.claims()!.sub);
      expect(userinfo['certification_level']).toBe('L2');
    });

    it('a legal person’s 基本信息, 认证等级 and consent page speak of the enterprise', async () => {
      const idNumber = randomIdNumber('19650303');
      const rep = await addCitizen(server, PASSWORD, { realName: '欧阳修', idNumber });
      const creditCode = randomCreditCode();
      const registration = {
        legalType: 'enterprise' as const,
        orgName: '泉州示范贸易有限公司',
        creditCode,
        representativeName: '欧阳修',
        representativeIdNumber: idNumber,
        contactPhone: `+86${rep.phone}`,
        password: PASSWORD,
      };
      await registerEnterpriseUnder(
        server,
        { name: registration.representativeName, idNumber, phone: rep.phone },
        registration,
      );

      // Consent: the site asks for the enterprise's data, not "your name".
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, site, { scope: 'openid profile enterprise' });
      const legalTab = await ua.get(`${start.page.url}?tab=legal`);
      const consent: PageResponse = await submit(ua, legalTab, '/login-legal', {
        login: creditCode,
        password: PASSWORD,
      });
      expect(consent.body).toContain('授权确认');
      expect(consent.body).toContain('泉州示范贸易有限公司');
      expect(consent.body).toContain('本单位的名称');
      expect(consent.body).not.toContain('您的姓名');

      const profile = await open(ua);
      for (const shown of [
        '法人用户',
        '泉州示范贸易有限公司',
        `${creditCode.slice(0, 4)}**********${creditCode.slice(14)}`,
        '企业',
        '欧**',
        `${rep.phone.slice(0, 3)}****${rep.phone.slice(7)}`,
        '已绑定证书',
        '实名用户（L2）',
      ]) {
        expect(profile.body).toContain(shown);
      }
      expect(profile.body).not.toContain(creditCode);
      expect(profile.body).not.toContain('id="id-number"');
      expect(profile.body).not.toContain('未实名认证');

      const level = await open(ua, '/account/level');
      expect(level.body).toContain('本单位已完成实名认证');
      expect(level.body).not.toContain('姓名和身份证号码不能修改');
      expect(level.body).toContain('高级认证用户（L3）');
    });
  },
);
