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

/** A database whose answer to a flush waits until its `held` is called. */
class SlowStore extends RateLimitStore {
  held: (() => void) | undefined;
  override async hitMany(...args: Parameters<RateLimitStore['hitMany']>) {
    await new Promise<void>((resolve) => {
      this.held = resolve;
    });
    return super.hitMany(...args);
  }
}

/** A database whose answer to the read of a shared total waits until its `held` is called. */
class SlowReadStore extends RateLimitStore {
  held: (() => void) | undefined;
  override async current(...args: Parameters<RateLimitStore['current']>) {
    await new Promise<void>((resolve) => {
      this.held = resolve;
    });
    return super.current(...args);
  }
}

/** A database that can not read a shared total until told otherwise. */
class UnreadableStore extends RateLimitStore {
  away = true;
  override current(...args: Parameters<RateLimitStore['current']>) {
    return this.away ? Promise.reject(new Error('database away')) : super.current(...args);
  }
}

/** A database that keeps what each flush sent it. */
class RecordingStore extends RateLimitStore {
  sent: Parameters<RateLimitStore['hitMany']>[0][] = [];
  override hitMany(...args: Parameters<RateLimitStore['hitMany']>) {
    this.sent.push(args[0]);
    return super.hitMany(...args);
  }
}

/**
 * Runs `work` with Date.now() at `when`. The embedded database's now() reads that clock too,
 * PostgreSQL's does not: what a test asserts of a statement sent meanwhile must hold for both.
 */
async function at<T>(when: Date, work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(when);
  try {
    return await work();
  } finally {
    vi.useRealTimers();
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

  it("sends no statement for a client's further requests in its window: the flush brings the others' counts", async () => {
    const first = new BatchedLimiter(store, limit('bt:quiet', 4));
    const second = new BatchedLimiter(store, limit('bt:quiet', 4));
    await first.consume('client-9');
    await first.flush();
    await second.consume('client-9');
    await second.consume('client-9');
    await second.flush();
    // A flush with nothing new from this process still reads the shared total back.
    await first.flush();
    const requests = await statementsOf(database.db, async () => {
      await first.consume('client-9');
      await expect(first.consume('client-9')).rejects.toBeInstanceOf(TooManyRequests);
    });
    expect(requests).toEqual([]);
  });

  it('forgets a client quiet for a whole window, from the millisecond it ends, as the database does', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:forgotten', 4));
    await limiter.consume('client-10');
    await limiter.flush();
    const { windowEndsAt } = (await store.current('bt:forgotten:client-10'))!;
    // One millisecond before the end it is still counted; at the end (window_ends_at <= now()) not.
    const before = await at(new Date(windowEndsAt.getTime() - 1), () =>
      statementsOf(database.db, () => limiter.flush()),
    );
    expect(before).toHaveLength(1);
    const atEnd = await at(windowEndsAt, () => statementsOf(database.db, () => limiter.flush()));
    expect(atEnd).toEqual([]);
  });

  it('sends the requests counted just before the window ended at the next flush, not forgetting them', async () => {
    const recording = new RecordingStore(database.db);
    const limiter = new BatchedLimiter(recording, limit('bt:late', 4));
    await limiter.consume('client-11');
    await limiter.flush();
    const { windowEndsAt } = (await store.current('bt:late:client-11'))!;
    await at(new Date(windowEndsAt.getTime() - 1), () => limiter.consume('client-11'));
    recording.sent.length = 0;
    // Which window they count in is the database's to say (its own clock, window_ends_at <= now()).
    await at(new Date(windowEndsAt.getTime() + 1), () => limiter.flush());
    expect(recording.sent).toEqual([[{ key: 'bt:late:client-11', hits: 1 }]]);
  });

  it('starts a new window at the millisecond the old one ends, as the database does', async () => {
    const limiter = new BatchedLimiter(store, limit('bt:edge', 1));
    await limiter.consume('client-12');
    await limiter.flush();
    const { windowEndsAt } = (await store.current('bt:edge:client-12'))!;
    await at(new Date(windowEndsAt.getTime() - 1), async () => {
      expect(await refusal(limiter.consume('client-12'))).toBeInstanceOf(TooManyRequests);
    });
    await at(windowEndsAt, async () => {
      expect(await refusal(limiter.consume('client-12'))).toBeUndefined();
    });
  });

  it("keeps a client's first request when the timer flushes while its shared total is still read", async () => {
    const slow = new SlowReadStore(database.db);
    const limiter = new BatchedLimiter(slow, limit('bt:loading', 4));
    const first = limiter.consume('client-13');
    await vi.waitFor(() => expect(slow.held).toBeDefined());
    // The timer's tick comes a second into a slow read.
    await at(new Date(Date.now() + 1000), () => limiter.flush());
    slow.held!();
    await first;
    await limiter.flush();
    expect((await store.current('bt:loading:client-13'))?.count).toBe(1);
  });

  it('fails only the requests that waited for a shared total it could not read', async () => {
    const unreadable = new UnreadableStore(database.db);
    const limiter = new BatchedLimiter(unreadable, limit('bt:unread', 2));
    await expect(limiter.consume('client-14')).rejects.toThrow('database away');
    await expect(limiter.consume('client-14')).resolves.toBeUndefined();
    await limiter.flush();
    expect((await store.current('bt:unread:client-14'))?.count).toBe(1);
  });
});
