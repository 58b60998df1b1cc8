import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { RateLimiter } from '../ops/rate-limiter.js';
import type { SmsGateway, SmsMessage } from '../outside/sms/sms-gateway.js';
import { SmsCodeService } from './sms-code-service.js';
import { SmsCodeStore } from './sms-code-store.js';

// One code in ten is drawn below 100000: which one is chance, so the draw is chosen here.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, randomInt: vi.fn(real.randomInt) };
});

let database: Database;

beforeAll(() => {
  database = openEmbeddedCopy();
});
afterAll(() => database?.close());

it('sends a code drawn below 100000 as six digits, leading zeros kept, and takes it as sent', async () => {
  const sent: SmsMessage[] = [];
  const gateway: SmsGateway = { kind: 'dev', send: async (message) => void sent.push(message) };
  const sms = new SmsCodeService(
    new SmsCodeStore(database.db),
    gateway,
    new RateLimiter(new RateLimitStore(database.db)),
    new DataProtector(Buffer.alloc(32, 9)),
    { phoneRegistered: async () => true },
  );
  (vi.mocked(randomInt) as unknown as { mockReturnValueOnce(value: number): void }).mockReturnValueOnce(42);
  await sms.send({ phone: '+8613977770001', purpose: 'login', ip: '10.11.0.1' });
  expect(sent.at(-1)!.params['code']).toBe('000042');
  expect(sent.at(-1)!.text).toContain('000042');
  await expect(
    sms.verify({ phone: '+8613977770001', purpose: 'login', code: '000042', ip: '10.11.0.1' }),
  ).resolves.toBeUndefined();
});
