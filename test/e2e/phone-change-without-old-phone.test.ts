import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addCitizen,
  latestSmsCode,
  messageOf,
  randomIdNumber,
  smsOutbox,
  solveCaptcha,
  submit,
} from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { randomPhone } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Su-Wu#2024x';

/**
 * 更换手机号 when the old phone is lost: name and ID number are not enough (anyone holding a
 * session, or a leaked ID card copy, has them), so the password too; three tries a day; the old
 * phone is told; every try is on the account's 登录记录.
 */
describe.each(databaseKinds())('更换手机号 without the old phone (%s)', (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ kind });
  });
  afterAll(() => server?.close());

  async function openSecurity(ua: UserAgent, phone: string): Promise<PageResponse> {
    let page = await ua.follow(await ua.get(`${server.url}/account/security`));
    if (page.body.includes('手机号码/身份证号码')) {
      page = await submit(ua, page, '/login', { login: phone, password: PASSWORD });
    }
    return page;
  }

  const notices = async (phone: string) => (await smsOutbox(server, phone)).filter((m) => m.code === null);

  it('needs the password as well, tells the old phone, is audited, and allows three tries a day', async () => {
    const idNumber = randomIdNumber('19650303');
    const { phone } = await addCitizen(server, PASSWORD, { realName: '苏武', idNumber });
    const next = randomPhone();
    const ua = new UserAgent();
    const security = await openSecurity(ua, phone);
    expect(security.body).toContain('登录密码（原手机号丢失时填写）');
    const sent = await submit(ua, security, '/account/security/phone/send', {
      which: 'new',
      new_phone: next,
      captcha: await solveCaptcha(ua, server, security),
    });
    expect(messageOf(sent)).toContain('验证码已发送至');
    const attempt = (extra: Record<string, string>) =>
      submit(ua, security, '/account/security/phone', {
        new_phone: next,
        new_code: '',
        old_phone_lost: 'yes',
        real_name: '苏武',
        id_number: idNumber,
        ...extra,
      });

    // Name and ID number alone, as before this change, no longer do.
    const noPassword = await attempt({ new_code: (await latestSmsCode(server, next))! });
    expect(noPassword.status).toBe(401);
    expect(messageOf(noPassword)).toBe('当前密码错误');
    const wrongName = await attempt({ phone_password: PASSWORD, real_name: '苏文' });
    expect(wrongName.status).toBe(400);
    expect(messageOf(wrongName)).toBe('姓名或身份证号码与账号实名信息不一致');
    expect(await server.services.accounts.findByPhone(`+86${phone}`)).toBeDefined();
    const refusedNotices = await notices(phone);
    expect(refusedNotices).toHaveLength(2);
    expect(refusedNotices[0]!.text).toContain('尝试不经本手机号验证更换绑定手机号，未获通过');

    // The third try, with everything right, changes it; the old phone is told.
    const done = await attempt({ phone_password: PASSWORD, new_code: (await latestSmsCode(server, next))! });
    expect(messageOf(done)).toBe('修改成功');
    expect(await server.services.accounts.findByPhone(`+86${next}`)).toBeDefined();
    expect((await notices(phone))[0]!.text).toContain('已通过实名信息核验将绑定手机号更换为新号码');

    // A fourth try the same day is refused before anything is checked.
    const fourth = await attempt({ phone_password: PASSWORD, new_phone: randomPhone() });
    expect(fourth.status).toBe(429);
    expect(messageOf(fourth)).toBe('今日验证次数已达上限，请明天再试');

    const log = await ua.get(`${server.url}/account/log`);
    expect(log.body.match(/更换手机号<\/td><td[^>]*>实名信息核验<\/td><td[^>]*>失败/g)).toHaveLength(3);
    expect(log.body.match(/更换手机号<\/td><td[^>]*>实名信息核验<\/td><td[^>]*>成功/g)).toHaveLength(1);
  });
});
