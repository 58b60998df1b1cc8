import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, databaseKinds } from '../../test/support/databases.js';
import { openEmbeddedCopy, runTempDir } from '../../test/support/embedded-template.js';
import { DataProtector } from '../crypto/sealed.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { RateLimiter } from '../ops/rate-limiter.js';
import type { SmsGateway, SmsMessage } from '../outside/sms/sms-gateway.js';
import { SmsCodeService } from './sms-code-service.js';
import { SmsCodeStore } from './sms-code-store.js';

class RecordingGateway implements SmsGateway {
  readonly kind = 'dev' as const;
  sent: SmsMessage[] = [];
  async send(message: SmsMessage) {
    this.sent.push(message);
  }
}

const REGISTERED = new Set(['+8613911110000', '+8613911110003']);

describe.each(databaseKinds())('SMS code entries and sends (%s)', (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;
  let gateway: RecordingGateway;
  let sms: SmsCodeService;

  beforeAll(async () => {
    const dataDir = runTempDir('uid-sms-attempts-');
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      drop = pg.drop;
      // Enough connections that the concurrent guesses really run side by side.
      database = openDatabase({ databaseUrl: pg.url, dataDir, poolMax: 12 });
    } else {
      database = openEmbeddedCopy(dataDir);
    }
    await migrate(database.db);
    gateway = new RecordingGateway();
    sms = new SmsCodeService(
      new SmsCodeStore(database.db),
      gateway,
      new RateLimiter(new RateLimitStore(database.db)),
      new DataProtector(Buffer.alloc(32, 7)),
      { phoneRegistered: async (phone) => REGISTERED.has(phone), checksPerIpPerHour: 100 },
    );
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const ageCodes = (phone: string, seconds: number) =>
    database.db.raw(
      `update sms_codes set created_at = created_at - make_interval(secs => ?) where phone = ?`,
      [seconds, phone],
    );

  it('an attacker who sends 40 wrong codes at once, then the right one, is refused', async () => {
    const phone = '+8613922220001';
    await sms.send({ phone, purpose: 'register', ip: '10.3.0.1' });
    const code = gateway.sent.at(-1)!.params['code']!;
    const wrong = code === '000000' ? '000001' : '000000';
    const guesses = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        sms.verify({ phone, purpose: 'register', code: wrong, ip: `10.3.1.${i}` }),
      ),
    );
    expect(guesses.every((g) => g.status === 'rejected')).toBe(true);
    await expect(sms.verify({ phone, purpose: 'register', code, ip: '10.3.2.1' })).rejects.toMatchObject({
      name: 'SmsCodeWrong',
    });
    const row = await database.db('sms_codes').where({ phone }).first();
    expect(row.attempts).toBe(5);
  });

  it('the right code among four wrong ones still works', async () => {
    const phone = '+8613922220002';
    await sms.send({ phone, purpose: 'login', ip: '10.3.0.2' });
    const code = gateway.sent.at(-1)!.params['code']!;
    const wrong = code === '999999' ? '999998' : '999999';
    for (let i = 0; i < 4; i++)
      await expect(sms.verify({ phone, purpose: 'login', code: wrong, ip: '10.3.0.2' })).rejects.toThrow();
    await expect(sms.verify({ phone, purpose: 'login', code, ip: '10.3.0.2' })).resolves.toBeUndefined();
  });

  it('one address can enter only so many codes an hour, over every phone', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 102; i++) {
      await sms
        .verify({
          phone: `+86139333${String(i).padStart(5, '0')}`,
          purpose: 'login',
          code: '123456',
          ip: '10.4.4.4',
        })
        .catch((err: { name: string; userMessage: string }) => outcomes.push(err.name));
    }
    expect(outcomes.filter((n) => n === 'SmsCodeWrong')).toHaveLength(100);
    expect(outcomes.filter((n) => n === 'TooManyRequests')).toHaveLength(2);
    // Even the right code from that address waits; another address is not affected.
    const phone = '+8613922220003';
    await sms.send({ phone, purpose: 'login', ip: '10.3.0.3' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await expect(sms.verify({ phone, purpose: 'login', code, ip: '10.4.4.4' })).rejects.toMatchObject({
      status: 429,
      userMessage: '验证码输入次数过多，请稍后再试',
    });
    await expect(sms.verify({ phone, purpose: 'login', code, ip: '10.3.0.3' })).resolves.toBeUndefined();
  });

  it('an entry refused without a code to compare (countEntry) uses the same per-address hour as verify', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 101; i++) {
      const entry =
        i % 2 === 0
          ? sms.countEntry('10.5.5.5')
          : sms.verify({
              phone: `+86139444${String(i).padStart(5, '0')}`,
              purpose: 'login',
              code: '123456',
              ip: '10.5.5.5',
            });
      await entry.then(
        () => outcomes.push('counted'),
        (err: { name: string }) => outcomes.push(err.name),
      );
    }
    expect(outcomes.filter((n) => n === 'TooManyRequests')).toHaveLength(1);
    expect(outcomes.at(-1)).toBe('TooManyRequests');
  });

  it('a code sent with a binding is taken only with the same binding', async () => {
    const phone = '+8613922220004';
    await sms.send({ phone, purpose: 'legal_representative', ip: '10.3.0.4', binding: 'registration-a' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await expect(
      sms.verify({ phone, purpose: 'legal_representative', code, ip: '10.3.0.4', binding: 'registration-b' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });
    await expect(
      sms.verify({ phone, purpose: 'legal_representative', code, ip: '10.3.0.4', binding: 'registration-a' }),
    ).resolves.toBeUndefined();
  });

  it('a code entry can not carry a binding of its own', async () => {
    const phone = '+8613922220030';
    const binding = 'registration-424242';
    await sms.send({ phone, purpose: 'legal_representative', ip: '10.3.0.30', binding });
    const code = gateway.sent.at(-1)!.params['code']!;
    // The code is hashed with the binding after it: an entry of the code and the binding, given
    // without one, must not stand in for the binding the caller names.
    await expect(
      sms.verify({ phone, purpose: 'legal_representative', code: `${code}|${binding}`, ip: '10.3.0.30' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });
    await expect(
      sms.verify({ phone, purpose: 'legal_representative', code, ip: '10.3.0.30', binding }),
    ).resolves.toBeUndefined();
  });

  it('keeps a code as the keyed index of phone, purpose and code (and binding), so one sent before an upgrade is taken after it', async () => {
    const protector = new DataProtector(Buffer.alloc(32, 7));
    const phone = '+8613922220031';
    await sms.send({ phone, purpose: 'login', ip: '10.3.0.31' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await sms.send({ phone, purpose: 'legal_representative', ip: '10.3.0.31', binding: 'registration-7' });
    const bound = gateway.sent.at(-1)!.params['code']!;
    const hashOf = async (purpose: string) =>
      (await database.db('sms_codes').where({ phone, purpose }).first()).code_hash as string;
    expect(protector.indexMatches(await hashOf('login'), 'sms', `${phone}|login|${code}`)).toBe(true);
    expect(
      protector.indexMatches(
        await hashOf('legal_representative'),
        'sms',
        `${phone}|legal_representative|${bound}|registration-7`,
      ),
    ).toBe(true);
  });

  it('a registered and an unknown number wait and are limited alike, and only the registered one gets a code', async () => {
    const registered = '+8613911110000';
    const unknown = '+8613911110001';
    const before = gateway.sent.length;
    for (const phone of [registered, unknown]) {
      await expect(
        sms.sendToAccountHolder({ phone, purpose: 'reset_password', ip: '10.5.0.1' }),
      ).resolves.toEqual({
        resendAfterSeconds: 60,
      });
      await expect(
        sms.sendToAccountHolder({ phone, purpose: 'reset_password', ip: '10.5.0.1' }),
      ).rejects.toMatchObject({
        status: 429,
        userMessage: expect.stringMatching(/^请在(59|60)秒后重新获取验证码$/),
      });
    }
    expect(gateway.sent.slice(before).map((m) => m.phone)).toEqual([registered]);
    // The daily count per number runs whether or not it is registered.
    for (const phone of [registered, unknown]) {
      for (let i = 1; i < 10; i++) {
        await ageCodes(phone, 61);
        await sms.sendToAccountHolder({ phone, purpose: 'reset_password', ip: `10.5.1.${i}` });
      }
      await ageCodes(phone, 61);
      await expect(
        sms.sendToAccountHolder({ phone, purpose: 'reset_password', ip: '10.5.2.1' }),
      ).rejects.toMatchObject({ status: 429, userMessage: '该手机号今日获取验证码次数已达上限，请明天再试' });
    }
  });

  it('the right code entered ten times at once is taken once', async () => {
    const phone = '+8613922220020';
    await sms.send({ phone, purpose: 'login', ip: '10.7.1.1' });
    const code = gateway.sent.at(-1)!.params['code']!;
    const entries = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        sms.verify({ phone, purpose: 'login', code, ip: `10.7.1.${i + 10}` }),
      ),
    );
    expect(entries.filter((e) => e.status === 'fulfilled')).toHaveLength(1);
  });

  it("using one phone's code leaves another phone's code live", async () => {
    const [first, second] = ['+8613922220021', '+8613922220022'];
    await sms.send({ phone: first, purpose: 'login', ip: '10.7.1.2' });
    const firstCode = gateway.sent.at(-1)!.params['code']!;
    await sms.send({ phone: second, purpose: 'login', ip: '10.7.1.2' });
    const secondCode = gateway.sent.at(-1)!.params['code']!;
    await expect(
      sms.verify({ phone: first, purpose: 'login', code: firstCode, ip: '10.7.1.2' }),
    ).resolves.toBeUndefined();
    await expect(
      sms.verify({ phone: second, purpose: 'login', code: secondCode, ip: '10.7.1.2' }),
    ).resolves.toBeUndefined();
  });

  it('a send that delivers nothing still waits and counts, and its code is told to no one', async () => {
    const phone = '+8613922220010';
    const before = gateway.sent.length;
    await expect(sms.send({ phone, purpose: 'login', ip: '10.7.0.1', deliver: false })).resolves.toEqual({
      resendAfterSeconds: 60,
    });
    expect(gateway.sent.length).toBe(before);
    await expect(sms.send({ phone, purpose: 'login', ip: '10.7.0.1' })).rejects.toMatchObject({
      name: 'ResendTooSoon',
    });
    expect(await database.db('sms_codes').where({ phone })).toHaveLength(1);
  });

  it('a send with a message of its own delivers that message around the code', async () => {
    const phone = '+8613922220011';
    await sms.send({
      phone,
      purpose: 'legal_representative',
      ip: '10.7.0.2',
      message: (code) => ({
        templateId: 'CONFIRM',
        params: { code, company: '某公司' },
        text: `确认${code}`,
      }),
    });
    const message = gateway.sent.at(-1)!;
    expect(message).toEqual({
      phone,
      templateId: 'CONFIRM',
      params: { code: expect.stringMatching(/^\d{6}$/), company: '某公司' },
      text: `确认${message.params['code']}`,
    });
    await expect(
      sms.verify({ phone, purpose: 'legal_representative', code: message.params['code']!, ip: '10.7.0.2' }),
    ).resolves.toBeUndefined();
  });

  it('a new code may be asked for once 60 seconds have passed, not a moment before', async () => {
    const phone = '+8613922220012';
    await sms.send({ phone, purpose: 'login', ip: '10.7.0.3' });
    await ageCodes(phone, 59);
    await expect(sms.send({ phone, purpose: 'login', ip: '10.7.0.3' })).rejects.toMatchObject({
      name: 'ResendTooSoon',
      retryAfterSeconds: 1,
    });
    await ageCodes(phone, 1);
    await expect(sms.send({ phone, purpose: 'login', ip: '10.7.0.3' })).resolves.toEqual({
      resendAfterSeconds: 60,
    });
    // The wait runs from the newest code, not the first.
    await expect(sms.send({ phone, purpose: 'login', ip: '10.7.0.3' })).rejects.toMatchObject({
      name: 'ResendTooSoon',
    });
  });

  it('an expired code is refused as expired; a used or spent one only as wrong', async () => {
    const expire = (phone: string) =>
      database
        .db('sms_codes')
        .where({ phone })
        .update({ expires_at: new Date(Date.now() - 1000) });
    const live = '+8613922220013';
    await sms.send({ phone: live, purpose: 'login', ip: '10.7.0.4' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await expire(live);
    await expect(sms.verify({ phone: live, purpose: 'login', code, ip: '10.7.0.4' })).rejects.toMatchObject({
      name: 'SmsCodeExpired',
      status: 400,
      userMessage: '短信验证码已过期，请点击“重新发送”获取新的验证码',
    });

    const used = '+8613922220014';
    await sms.send({ phone: used, purpose: 'login', ip: '10.7.0.4' });
    const usedCode = gateway.sent.at(-1)!.params['code']!;
    await sms.verify({ phone: used, purpose: 'login', code: usedCode, ip: '10.7.0.4' });
    await expire(used);
    await expect(
      sms.verify({ phone: used, purpose: 'login', code: usedCode, ip: '10.7.0.4' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });

    const spent = '+8613922220015';
    await sms.send({ phone: spent, purpose: 'login', ip: '10.7.0.4' });
    const spentCode = gateway.sent.at(-1)!.params['code']!;
    const wrong = spentCode === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++)
      await expect(
        sms.verify({ phone: spent, purpose: 'login', code: wrong, ip: '10.7.0.4' }),
      ).rejects.toThrow();
    await expire(spent);
    await expect(
      sms.verify({ phone: spent, purpose: 'login', code: spentCode, ip: '10.7.0.4' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });

    // Four wrong entries leave the code live: once expired it is told as expired.
    const tried = '+8613922220016';
    await sms.send({ phone: tried, purpose: 'login', ip: '10.7.0.4' });
    const triedCode = gateway.sent.at(-1)!.params['code']!;
    const miss = triedCode === '000000' ? '000001' : '000000';
    for (let i = 0; i < 4; i++)
      await expect(
        sms.verify({ phone: tried, purpose: 'login', code: miss, ip: '10.7.0.4' }),
      ).rejects.toThrow();
    await expire(tried);
    await expect(
      sms.verify({ phone: tried, purpose: 'login', code: triedCode, ip: '10.7.0.4' }),
    ).rejects.toMatchObject({ name: 'SmsCodeExpired' });
  });

  it('check leaves a right code for the next submit, and counts a wrong entry as verify does', async () => {
    const phone = '+8613922220017';
    await sms.send({ phone, purpose: 'register', ip: '10.7.0.5' });
    const code = gateway.sent.at(-1)!.params['code']!;
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 4; i++) await sms.check({ phone, purpose: 'register', code, ip: '10.7.0.5' });
    await expect(
      sms.check({ phone, purpose: 'register', code: wrong, ip: '10.7.0.5' }),
    ).rejects.toMatchObject({
      name: 'SmsCodeWrong',
    });
    // Four right checks gave their entries back; the wrong one is counted: four entries remain.
    for (let i = 0; i < 3; i++)
      await expect(sms.check({ phone, purpose: 'register', code: wrong, ip: '10.7.0.5' })).rejects.toThrow();
    await expect(sms.verify({ phone, purpose: 'register', code, ip: '10.7.0.5' })).resolves.toBeUndefined();
    await expect(sms.verify({ phone, purpose: 'register', code, ip: '10.7.0.5' })).rejects.toMatchObject({
      name: 'SmsCodeWrong',
    });

    // A right code checked gives back its own entry only: another phone's spent code stays spent.
    const spent = '+8613922220018';
    await sms.send({ phone: spent, purpose: 'register', ip: '10.7.0.5' });
    const spentCode = gateway.sent.at(-1)!.params['code']!;
    const miss = spentCode === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++)
      await expect(
        sms.check({ phone: spent, purpose: 'register', code: miss, ip: '10.7.0.5' }),
      ).rejects.toThrow();
    const other = '+8613922220019';
    await sms.send({ phone: other, purpose: 'register', ip: '10.7.0.5' });
    const otherCode = gateway.sent.at(-1)!.params['code']!;
    await sms.check({ phone: other, purpose: 'register', code: otherCode, ip: '10.7.0.5' });
    await expect(
      sms.check({ phone: spent, purpose: 'register', code: spentCode, ip: '10.7.0.5' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });
  });

  it('a signed-in account may send codes to five new numbers a day, whoever else sends', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      await sms
        .sendToNewPhone({
          phone: `+86139555000${String(i).padStart(2, '0')}`,
          accountId: 'acc-new-phone',
          ip: `10.8.0.${i}`,
        })
        .then(
          () => outcomes.push('sent'),
          (err: { name: string; userMessage: string; retryAfterSeconds?: number }) => {
            outcomes.push(err.userMessage);
            expect(err.retryAfterSeconds).toBeGreaterThan(23 * 3600);
          },
        );
    }
    expect(outcomes).toEqual([
      ...Array(5).fill('sent'),
      '今日向新手机号发送验证码的次数已达上限，请明天再试',
    ]);
    // The code a new number gets is for changing the account's phone.
    const code = gateway.sent.at(-1)!.params['code']!;
    expect(gateway.sent.at(-1)!.phone).toBe('+8613955500004');
    await expect(
      sms.verify({ phone: '+8613955500004', purpose: 'account', code, ip: '10.8.0.4' }),
    ).resolves.toBeUndefined();
    // Another account is not affected.
    await expect(
      sms.sendToNewPhone({ phone: '+8613955500009', accountId: 'acc-other', ip: '10.8.1.1' }),
    ).resolves.toEqual({ resendAfterSeconds: 60 });
    // The count is kept where an operator asked to lift an account's allowance finds it by name.
    const counter = await database
      .db('rate_limits')
      .where({ key: 'sms-new-phone:account:acc-new-phone' })
      .first();
    expect(counter?.count).toBe(6);
  });

  it("asking again within 60 seconds does not use up the account's new numbers", async () => {
    const phone = '+8613955600000';
    await sms.sendToNewPhone({ phone, accountId: 'acc-impatient', ip: '10.8.2.1' });
    for (let i = 0; i < 6; i++)
      await expect(
        sms.sendToNewPhone({ phone, accountId: 'acc-impatient', ip: '10.8.2.1' }),
      ).rejects.toMatchObject({ name: 'ResendTooSoon' });
    for (let i = 1; i < 5; i++)
      await sms.sendToNewPhone({
        phone: `+8613955600${String(i).padStart(3, '0')}`,
        accountId: 'acc-impatient',
        ip: '10.8.2.1',
      });
    await expect(
      sms.sendToNewPhone({ phone: '+8613955600009', accountId: 'acc-impatient', ip: '10.8.2.1' }),
    ).rejects.toMatchObject({ userMessage: '今日向新手机号发送验证码的次数已达上限，请明天再试' });
  });

  it('the limits a deployment sets are the ones applied', async () => {
    const strict = new SmsCodeService(
      new SmsCodeStore(database.db),
      gateway,
      new RateLimiter(new RateLimitStore(database.db)),
      new DataProtector(Buffer.alloc(32, 7)),
      { phoneRegistered: async () => true, checksPerIpPerHour: 3, newPhoneCodesPerAccountPerDay: 2 },
    );
    const entries: string[] = [];
    for (let i = 0; i < 4; i++)
      await strict
        .verify({ phone: `+861396660000${i}`, purpose: 'login', code: '123456', ip: '10.9.0.1' })
        .catch((err: { name: string }) => entries.push(err.name));
    expect(entries).toEqual(['SmsCodeWrong', 'SmsCodeWrong', 'SmsCodeWrong', 'TooManyRequests']);
    const sends: string[] = [];
    for (let i = 0; i < 3; i++)
      await strict
        .sendToNewPhone({ phone: `+861396670000${i}`, accountId: 'acc-strict', ip: '10.9.0.2' })
        .then(
          () => sends.push('sent'),
          (err: { name: string }) => sends.push(err.name),
        );
    expect(sends).toEqual(['sent', 'sent', 'TooManyRequests']);
  });

  it('a code sent for a new account is a registration code', async () => {
    await sms.sendForNewAccount({ phone: '+8613911110020', ip: '10.6.0.2' });
    const code = gateway.sent.at(-1)!.params['code']!;
    await expect(
      sms.verify({ phone: '+8613911110020', purpose: 'login', code, ip: '10.6.0.2' }),
    ).rejects.toMatchObject({ name: 'SmsCodeWrong' });
    await expect(
      sms.verify({ phone: '+8613911110020', purpose: 'register', code, ip: '10.6.0.2' }),
    ).resolves.toBeUndefined();
  });

  it('registration with a number that has an account sends a notice instead of a code', async () => {
    await sms.sendForNewAccount({ phone: '+8613911110003', ip: '10.6.0.1' });
    expect(gateway.sent.at(-1)).toMatchObject({
      phone: '+8613911110003',
      params: {},
      text: expect.stringContaining('该手机号已注册，如忘记密码请使用忘记密码'),
    });
    await sms.sendForNewAccount({ phone: '+8613911110002', ip: '10.6.0.1' });
    expect(gateway.sent.at(-1)!.params['code']).toMatch(/^\d{6}$/);
  });
});
