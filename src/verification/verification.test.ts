import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { LoginGuard } from '../accounts/login-guard.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { RateLimiter } from '../ops/rate-limiter.js';
import type { SmsGateway, SmsMessage } from '../outside/sms/sms-gateway.js';
import { SmsSendFailed } from '../outside/sms/sms-gateway.js';
import { CaptchaService } from './captcha-service.js';
import { CaptchaStore } from './captcha-store.js';
import { SmsCodeService } from './sms-code-service.js';
import { SmsCodeStore } from './sms-code-store.js';

/** Records what would be sent; a real SMS gateway is exercised against a fake server in test/e2e. */
class RecordingGateway implements SmsGateway {
  readonly kind = 'dev' as const;
  sent: SmsMessage[] = [];
  failing = false;
  async send(message: SmsMessage) {
    if (this.failing) throw new SmsSendFailed('down');
    this.sent.push(message);
  }
}

let database: Database;
let gateway: RecordingGateway;
let sms: SmsCodeService;
let captcha: CaptchaService;
let guard: LoginGuard;

beforeAll(async () => {
  database = openEmbeddedCopy();
  await migrate(database.db);
  const protector = new DataProtector(Buffer.alloc(32, 3));
  const rateLimits = new RateLimitStore(database.db);
  gateway = new RecordingGateway();
  sms = new SmsCodeService(new SmsCodeStore(database.db), gateway, new RateLimiter(rateLimits), protector, {
    phoneRegistered: async () => true,
  });
  captcha = new CaptchaService(new CaptchaStore(database.db));
  guard = new LoginGuard(rateLimits);
});
afterAll(() => database?.close());

const ageCodes = (phone: string, seconds: number) =>
  database.db.raw(`update sms_codes set created_at = created_at - make_interval(secs => ?) where phone = ?`, [
    seconds,
    phone,
  ]);

describe('image captcha', () => {
  it('is four characters without look-alikes, case-insensitive and single use', async () => {
    const svg = await captcha.issue('browser-a');
    expect(svg).toMatch(/^<svg/);
    const answer = (await captcha.currentAnswer('browser-a'))!;
    expect(answer).toMatch(/^[A-HJ-NP-Z2-9]{4}$/);
    await expect(captcha.check('browser-a', answer.toLowerCase())).resolves.toBeUndefined();
    await expect(captcha.check('browser-a', answer)).rejects.toThrow('图片验证码错误');
  });

  it('is bound to the browser that loaded it, and a wrong guess uses it up', async () => {
    await captcha.issue('browser-b');
    const answer = (await captcha.currentAnswer('browser-b'))!;
    await expect(captcha.check('browser-c', answer)).rejects.toThrow();
    await captcha.check('browser-b', 'XXXX').catch(() => {});
    await expect(captcha.check('browser-b', answer)).rejects.toThrow();
  });

  it('expires after five minutes', async () => {
    await captcha.issue('browser-d');
    const answer = (await captcha.currentAnswer('browser-d'))!;
    await database
      .db('captchas')
      .where({ browser_id: 'browser-d' })
      .update({ expires_at: new Date(Date.now() - 1) });
    await expect(captcha.check('browser-d', answer)).rejects.toThrow();
  });
});

describe('SMS codes', () => {
  it('sends six digits in the portal wording, stored only as a hash', async () => {
    await sms.send({ phone: '+8613900000001', purpose: 'register', ip: '10.0.0.1' });
    const message = gateway.sent.at(-1)!;
    const code = message.params['code']!;
    expect(code).toMatch(/^\d{6}$/);
    expect(message.text).toBe(
      `【统一身份认证】您的验证码为${code}，5分钟内有效。如非本人操作，请忽略本短信。`,
    );
    const row = await database.db('sms_codes').where({ phone: '+8613900000001' }).first();
    expect(row.code_hash).not.toContain(code);
  });

  it('re-sends only after 60 seconds, and at most 10 times a day per phone', async () => {
    const phone = '+8613900000002';
    await sms.send({ phone, purpose: 'login', ip: '10.0.0.2' });
    await expect(sms.send({ phone, purpose: 'login', ip: '10.0.0.2' })).rejects.toThrow(/秒后重新获取验证码/);
    for (let i = 2; i <= 10; i++) {
      await ageCodes(phone, 61);
      await sms.send({ phone, purpose: 'login', ip: `10.0.1.${i}` });
    }
    await ageCodes(phone, 61);
    await expect(sms.send({ phone, purpose: 'login', ip: '10.0.2.1' })).rejects.toThrow(
      '今日获取验证码次数已达上限',
    );
  });

  it('limits sends from one address per hour', async () => {
    let refused = 0;
    for (let i = 0; i < 35; i++) {
      await sms
        .send({ phone: `+861370000${String(i).padStart(4, '0')}`, purpose: 'login', ip: '10.9.9.9' })
        .catch(() => {
          refused += 1;
        });
    }
    expect(refused).toBe(5);
  });

  it('is purpose-bound, used once, and spent after five wrong entries', async () => {
    const phone = '+8613900000003';
    const ip = '10.0.0.3';
    await sms.send({ phone, purpose: 'register', ip: '10.0.0.3' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await expect(sms.verify({ phone, purpose: 'reset_password', code, ip })).rejects.toThrow();
    await sms.verify({ phone, purpose: 'register', code, ip });
    await expect(sms.verify({ phone, purpose: 'register', code, ip })).rejects.toThrow();

    await ageCodes(phone, 61);
    await sms.send({ phone, purpose: 'register', ip: '10.0.0.3' });
    const next = gateway.sent.at(-1)!.params['code']!;
    const wrong = next === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++)
      await expect(sms.verify({ phone, purpose: 'register', code: wrong, ip })).rejects.toThrow();
    await expect(sms.verify({ phone, purpose: 'register', code: next, ip })).rejects.toThrow();
  });

  it('keeps no code when the gateway fails, and leaves the codes of other phones', async () => {
    await sms.send({ phone: '+8613900000005', purpose: 'login', ip: '10.0.0.5' });
    const other = gateway.sent.at(-1)!.params['code']!;
    gateway.failing = true;
    await expect(
      sms.send({ phone: '+8613900000004', purpose: 'login', ip: '10.0.0.4' }),
    ).rejects.toMatchObject({
      userMessage: '短信发送失败，请稍后重试',
    });
    gateway.failing = false;
    expect(await database.db('sms_codes').where({ phone: '+8613900000004' })).toHaveLength(0);
    await expect(
      sms.verify({ phone: '+8613900000005', purpose: 'login', code: other, ip: '10.0.0.5' }),
    ).resolves.toBeUndefined();
  });
});

describe('login failure counters', () => {
  it('ask for the captcha after three failures for an account or from an address', async () => {
    expect(await guard.captchaRequired('13900000009', '10.1.1.1')).toBe(false);
    for (let i = 0; i < 3; i++) await guard.recordFailure('13900000009', `10.1.1.${i + 10}`);
    expect(await guard.captchaRequired('13900000009', '10.1.1.1')).toBe(true);
    expect(await guard.captchaRequired('13900000010', '10.1.1.1')).toBe(false);
    for (let i = 0; i < 3; i++) await guard.recordFailure(`1390000002${i}`, '10.2.2.2');
    expect(await guard.captchaRequired('13900000099', '10.2.2.2')).toBe(true);
    await guard.clear('13900000009');
    expect(await guard.captchaRequired('13900000009', '10.1.1.1')).toBe(false);
  });
});
