import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { rejectionOrNone } from '../../test/support/rejection.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { TooManyRequests } from '../errors.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { RateLimiter } from '../ops/rate-limiter.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { LegalPersonService, ValidRegistration } from './legal-person-service.js';
import { RepresentativeConfirmations } from './representative-confirmation.js';

// 法人注册's identity check of the legal representative, limited per address and per ID number
// a day whether the details match or not: a registrant can not try ID numbers until one matches,
// nor try one ID number from many addresses. The SMS that follows is not what is tested here.

let database: Database;
let confirmations: RepresentativeConfirmations;

beforeAll(async () => {
  database = openEmbeddedCopy();
  const legalPersons = {
    withPasswordHashed: async ({ password: _, ...rest }: ValidRegistration) => ({
      ...rest,
      passwordHash: 'h',
    }),
    findRepresentative: async () => undefined,
  } as unknown as LegalPersonService;
  const sms = { send: async () => ({ resendAfterSeconds: 60 }) } as unknown as SmsCodeService;
  confirmations = new RepresentativeConfirmations(
    legalPersons,
    sms,
    new RateLimiter(new RateLimitStore(database.db)),
    new DataProtector(Buffer.alloc(32, 9)),
  );
});
afterAll(() => database?.close());

const registration = (idNumber: string): ValidRegistration => ({
  legalType: 'enterprise',
  orgName: '某某科技有限公司',
  creditCode: '91350100M000100Y43',
  representativeName: '张三',
  representativeIdNumber: idNumber,
  contactPhone: '+8613800000000',
  password: 'Secret-pass-1',
});

const idNumber = (n: number) => `3501022000010${String(n).padStart(5, '0')}`;

const refusal = (attempt: Promise<unknown>) => rejectionOrNone(attempt, TooManyRequests);

describe("a legal representative's identity check", () => {
  it('is allowed 20 times a day from one address, whatever ID numbers are tried', async () => {
    for (let i = 0; i < 20; i++)
      expect(
        await refusal(confirmations.begin(registration(idNumber(100 + i)), '10.20.0.1')),
      ).toBeUndefined();
    const refused = await refusal(confirmations.begin(registration(idNumber(200)), '10.20.0.1'));
    expect(refused).toMatchObject({ status: 429, userMessage: '今日验证次数已达上限，请明天再试' });
    expect(refused?.retryAfterSeconds).toBeGreaterThan(23 * 3600);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(24 * 3600);
    // Another address is not affected.
    expect(await refusal(confirmations.begin(registration(idNumber(201)), '10.20.0.2'))).toBeUndefined();
  });

  it('is allowed 5 times a day against one ID number, whichever addresses ask', async () => {
    for (let i = 0; i < 5; i++)
      expect(await refusal(confirmations.begin(registration(idNumber(300)), `10.21.0.${i}`))).toBeUndefined();
    const refused = await refusal(confirmations.begin(registration(idNumber(300)), '10.21.1.1'));
    expect(refused).toMatchObject({ status: 429, userMessage: '今日验证次数已达上限，请明天再试' });
    expect(refused?.retryAfterSeconds).toBeGreaterThan(23 * 3600);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(24 * 3600);
    expect(await refusal(confirmations.begin(registration(idNumber(301)), '10.21.1.1'))).toBeUndefined();
  });

  it('never stores the ID number in clear among the counters', async () => {
    await confirmations.begin(registration(idNumber(400)), '10.22.0.1');
    const keys = (await database.db('rate_limits').select('key')).map((r: { key: string }) => r.key);
    expect(keys.some((k) => k.includes(idNumber(400)))).toBe(false);
  });
});
