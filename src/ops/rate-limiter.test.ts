import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { rejectionOrNone } from '../../test/support/rejection.js';
import type { Database } from '../db/database.js';
import { TooManyRequests } from '../errors.js';
import { BatchedLimiter } from './batched-limiter.js';
import { RateLimitStore } from './rate-limit-store.js';
import { LIMITS, RateLimiter } from './rate-limiter.js';

let database: Database;
let limiter: RateLimiter;

beforeAll(async () => {
  database = openEmbeddedCopy();
  limiter = new RateLimiter(new RateLimitStore(database.db));
});
afterAll(() => database?.close());

const refusal = (attempt: Promise<unknown>) => rejectionOrNone(attempt, TooManyRequests);

describe('a per-request limit', () => {
  it('allows max attempts in its window, refuses the next with the wait until the window ends', async () => {
    const limit = { name: 'test:a', max: 3, windowSeconds: 600 };
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(await limiter.consume(limit, 'subject-1'));
    expect(counts).toEqual([1, 2, 3]);
    const refused = await refusal(limiter.consume(limit, 'subject-1'));
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(540);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(600);
    // Refused attempts still count: hammering does not wear the limit down.
    await expect(limiter.consume(limit, 'subject-1')).rejects.toBeInstanceOf(TooManyRequests);
  });

  it('counts each subject and each limit apart', async () => {
    const limit = { name: 'test:b', max: 1, windowSeconds: 600 };
    await limiter.consume(limit, 'subject-2');
    await expect(limiter.consume(limit, 'subject-2')).rejects.toBeInstanceOf(TooManyRequests);
    await expect(limiter.consume(limit, 'subject-3')).resolves.toBe(1);
    await expect(limiter.consume({ ...limit, name: 'test:c' }, 'subject-2')).resolves.toBe(1);
  });

  it('starts afresh once the window is over', async () => {
    const limit = { name: 'test:d', max: 1, windowSeconds: 600 };
    await limiter.consume(limit, 'subject-4');
    await expect(limiter.consume(limit, 'subject-4')).rejects.toBeInstanceOf(TooManyRequests);
    await database
      .db('rate_limits')
      .where({ key: 'test:d:subject-4' })
      .update({ window_ends_at: new Date(Date.now() - 1000) });
    await expect(limiter.consume(limit, 'subject-4')).resolves.toBe(1);
  });
});

// The other limits of LIMITS are tried where they are applied: the login limits in
// src/accounts/login-guard.test.ts, the representative checks in
// src/accounts/representative-confirmation.test.ts.
describe('the per-client limit of /token', () => {
  it('is counted per client over every process, and a client over it waits at most a minute', async () => {
    // TOKEN_REQUESTS_PER_MINUTE replaces max; the rest is the table's.
    const first = new BatchedLimiter(new RateLimitStore(database.db), { ...LIMITS.tokenPerClient, max: 2 });
    const second = new BatchedLimiter(new RateLimitStore(database.db), { ...LIMITS.tokenPerClient, max: 2 });
    await first.consume('client-t');
    await first.consume('client-t');
    await first.flush();
    const refused = await refusal(second.consume('client-t'));
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(50);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    await expect(second.consume('client-u')).resolves.toBeUndefined();
  });
});

describe('the counters an operator finds in rate_limits', () => {
  it("are kept under each limit's name and the subject, as operators look them up to lift one", async () => {
    const subject = 'operator-view';
    for (const limit of [
      LIMITS.loginPerIp,
      LIMITS.loginPerAccount,
      LIMITS.representativeChecksPerIp,
      LIMITS.representativeChecksPerIdNumber,
    ]) {
      await limiter.consume(limit, subject);
    }
    const token = new BatchedLimiter(new RateLimitStore(database.db), LIMITS.tokenPerClient);
    await token.consume(subject);
    await token.flush();
    const keys = await database
      .db('rate_limits')
      .where('key', 'like', `%:${subject}`)
      .orderBy('key')
      .pluck('key');
    expect(keys).toEqual([
      'legal-rep-check:id:operator-view',
      'legal-rep-check:ip:operator-view',
      'login:account:operator-view',
      'login:ip:operator-view',
      'token:client:operator-view',
    ]);
  });
});
