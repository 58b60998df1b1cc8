import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { rejectionOrNone } from '../../test/support/rejection.js';
import { statementsOf } from '../../test/support/statements.js';
import { type Database, PERIODIC_STATEMENT } from '../db/database.js';
import { TooManyRequests } from '../errors.js';
import { BatchedLimiter } from './batched-limiter.js';
import { RateLimitStore } from './rate-limit-store.js';

let database: Database;
let store: RateLimitStore;

beforeAll(async () => {
  database = openEmbeddedCopy();
  store = new RateLimitStore(database.db);
});
afterAll(() => database?.close());

const limit = (name: string, max: number, windowSeconds = 600) => ({ name, max, windowSeconds });

const refusal = (attempt: Promise<unknown>) => rejectionOrNone(attempt, TooManyRequests);

/** A database that is away until told otherwise. */
class FailingStore extends RateLimitStore {
  away = true;
  override hitMany(...args: Parameters<RateLimitStore['hitMany']>) {
    return this.away ? Promise.reject(new Error('database away')) : super.hitMany(...args);
  }
}

/** A database whose answer to a flush waits until `answer` is called. */
class SlowStore extends RateLimitStore {
  held: (() => void) | undefined;
  override async hitMany(...args: Parameters<RateLimitStore['hitMany']>) {
    await new Promise<void>((resolve) => {
      this.held = resolve;
    });
    return super.hitMany(...args);
  }
}

// Two BatchedLimiter objects over one database stand for two processes of the provider.
describe('a batched per-client limit', () => {
  it('allows max requests in its window and refuses the next, with the wait until the window ends', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:a', 3));
    for (let i = 0; i < 3; i++) await limiter.consume('client-1');
    const refused = await refusal(limiter.consume('client-1'));
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(540);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(600);
    await expect(limiter.consume('client-2')).resolves.toBeUndefined();
  });

  it('lets through no more than max of a burst that arrives before the shared total is read', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:burst', 5));
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => limiter.consume('client-b')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it("counts every process's requests together once they flush", async () => {
    const first = new BatchedLimiter(store, limit('bt:shared', 5));
    const second = new BatchedLimiter(store, limit('bt:shared', 5));
    for (let i = 0; i < 3; i++) await first.consume('client-3');
    await first.flush();
    expect((await store.current('bt:shared:client-3'))?.count).toBe(3);
    // A process new to the client starts from the shared total, even with requests in a row.
    await second.consume('client-3');
    await second.consume('client-3');
    await expect(second.consume('client-3')).rejects.toBeInstanceOf(TooManyRequests);
    await second.flush();
    // The first process learns of the second's requests at its next flush.
    await first.flush();
    await expect(first.consume('client-3')).rejects.toBeInstanceOf(TooManyRequests);
    expect((await store.current('bt:shared:client-3'))?.count).toBe(5);
  });

  it('counts the hits a flush is still adding: no request slips through while it waits', async () => {
    const slow = new SlowStore(database.db);
    const limiter = new BatchedLimiter(slow, limit('bt:sending', 4));
    for (let i = 0; i < 3; i++) await limiter.consume('client-s');
    const flushing = limiter.flush();
    await vi.waitFor(() => expect(slow.held).toBeDefined());
    // The three are on their way to the shared row: one more fits, then the limit holds.
    await limiter.consume('client-s');
    await expect(limiter.consume('client-s')).rejects.toBeInstanceOf(TooManyRequests);
    slow.held!();
    await flushing;
    expect((await store.current('bt:sending:client-s'))?.count).toBe(3);
    await expect(limiter.consume('client-s')).rejects.toBeInstanceOf(TooManyRequests);
  });

  it('keeps the requests counted while the database is away, and adds them once it is back', async () => {
    const failing = new FailingStore(database.db);
    const limiter = new BatchedLimiter(failing, limit('bt:away', 4));
    await limiter.consume('client-4');
    await limiter.consume('client-4');
    await expect(limiter.flush()).rejects.toThrow('database away');
    failing.away = false;
    await limiter.flush();
    expect((await store.current('bt:away:client-4'))?.count).toBe(2);
    await limiter.consume('client-4');
    await limiter.consume('client-4');
    await expect(limiter.consume('client-4')).rejects.toBeInstanceOf(TooManyRequests);
  });

  it('adds its counts on its timer, and what is still pending when it stops', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:timer', 100), 20);
    limiter.start();
    await limiter.consume('client-5');
    await vi.waitFor(async () => expect((await store.current('bt:timer:client-5'))?.count).toBe(1));
    await limiter.stop();
    await limiter.consume('client-5');
    await limiter.consume('client-5');
    await limiter.stop();
    expect((await store.current('bt:timer:client-5'))?.count).toBe(3);
  });

  it('starts afresh once the window is over, with a whole new window to wait for', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:window', 1));
    await limiter.consume('client-6');
    await limiter.flush();
    await expect(limiter.consume('client-6')).rejects.toBeInstanceOf(TooManyRequests);
    // The shared window is about to end; the process learns so at its next flush.
    await database
      .db('rate_limits')
      .where({ key: 'bt:window:client-6' })
      .update({ window_ends_at: new Date(Date.now() + 300) });
    await limiter.flush();
    await vi.waitFor(async () => expect(await refusal(limiter.consume('client-6'))).toBeUndefined(), {
      timeout: 5000,
      interval: 50,
    });
    const refused = await refusal(limiter.consume('client-6'));
    expect(refused?.retryAfterSeconds).toBeGreaterThan(540);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(600);
  });

  it("flushes in one statement marked as a timer's, and sends none while nothing is counted", async () => {
    const limiter = new BatchedLimiter(store, limit('bt:log', 10));
    // An idle process does not knock on the database at every tick.
    expect(await statementsOf(database.db, () => limiter.flush())).toEqual([]);
    await limiter.consume('client-7');
    await limiter.consume('client-8');
    const flushed = await statementsOf(database.db, () => limiter.flush());
    expect(flushed).toHaveLength(1);
    // Not a request's: the statement log's count per request leaves it out.
    expect(flushed[0]!.startsWith(PERIODIC_STATEMENT)).toBe(true);
    expect((await store.current('bt:log:client-7'))?.count).toBe(1);
    expect((await store.current('bt:log:client-8'))?.count).toBe(1);
  });
});
