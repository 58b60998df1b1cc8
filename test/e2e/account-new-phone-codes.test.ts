import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, messageOf, smsOutbox, solveCaptcha, submit } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Wei-Zheng#2024';

describe('用户空间 → 更换手机号: codes to a new number', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  async function security(ua: UserAgent, phone: string): Promise<PageResponse> {
    const page = await ua.follow(await ua.get(`${server.url}/account/security`));
    return ua.follow(await submit(ua, page, '/login', { login: phone, password: PASSWORD }));
  }

  const outbox = async (phone: string) => (await smsOutbox(server, phone)).length;

  it('need the captcha: without it or with a wrong one nothing is sent', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const page = await security(ua, phone);
    expect(page.body).toContain('alt="图片验证码');
    const next = randomPhone();
    for (const [captcha, words] of [
      ['', '请输入图片验证码'],
      ['ZZZZ', '图片验证码错误'],
    ] as const) {
      const refused = await submit(ua, page, '/account/security/phone/send', {
        which: 'new',
        new_phone: next,
        captcha,
      });
      expect(refused.status).toBe(400);
      expect(messageOf(refused)).toContain(words);
    }
    expect(await outbox(next)).toBe(0);
    const sent = await submit(ua, page, '/account/security/phone/send', {
      which: 'new',
      new_phone: next,
      captcha: await solveCaptcha(ua, server, page),
    });
    expect(messageOf(sent)).toContain('验证码已发送至');
    expect(await outbox(next)).toBe(1);
  });

  it('are limited per account a day, whichever numbers they go to', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    let page = await security(ua, phone);
    for (let i = 0; i < 5; i++) {
      page = await submit(ua, page, '/account/security/phone/send', {
        which: 'new',
        new_phone: randomPhone(),
        captcha: await solveCaptcha(ua, server, page),
      });
      expect(messageOf(page)).toContain('验证码已发送至');
    }
    const next = randomPhone();
    const refused = await submit(ua, page, '/account/security/phone/send', {
      which: 'new',
      new_phone: next,
      captcha: await solveCaptcha(ua, server, page),
    });
    expect(refused.status).toBe(429);
    expect(messageOf(refused)).toBe('今日向新手机号发送验证码的次数已达上限，请明天再试');
    expect(await outbox(next)).toBe(0);
    // The account's own phone still gets its code.
    const own = await submit(ua, page, '/account/security/phone/send', { which: 'old' });
    expect(messageOf(own)).toContain('验证码已发送至');
  });
});
