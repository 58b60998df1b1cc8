import { TooManyRequests } from '../errors.js';
import type { RateLimitStore } from './rate-limit-store.js';
import type { Limit } from './rate-limiter.js';

interface Counter {
  /** Hits counted here and not yet added to the shared row. */
  pending: number;
  /** Hits on their way to the shared row: a flush has taken them and not yet heard back. */
  sending: number;
  /** The shared row's count as of the last flush: every process's hits. */
  shared: number;
  windowEndsAt: number;
  /** The first request of a subject waits for the shared total. */
  loading?: Promise<void> | undefined;
}

/**
 * A rate limit for a hot path (/token per client): each process counts in memory and, once per
 * `flushMs`, adds its hits to the shared `rate_limits` rows and reads every total back, in one
 * statement — instead of a database write per request. A client can exceed the limit by what
 * the processes let through within one interval; acceptable for a throughput guard, which is
 * why login attempts and lockouts keep the exact, per-request RateLimiter.
 */
export class BatchedLimiter {
  readonly #counters = new Map<string, Counter>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly store: RateLimitStore,
    private readonly limit: Limit,
    private readonly flushMs = 1000,
  ) {}

  /** Counts one request; throws TooManyRequests once this window's allowance is spent. */
  async consume(subject: string): Promise<void> {
    const now = Date.now();
    const counter = this.#counters.get(subject) ?? this.#start(subject, now);
    await counter.loading; // undefined once the shared total is in
    if (counter.windowEndsAt <= now) {
      counter.shared = 0;
      counter.windowEndsAt = now + this.limit.windowSeconds * 1000;
    }
    // Hits a flush is adding are in neither the shared count nor pending until it answers.
    if (counter.shared + counter.sending + counter.pending >= this.limit.max) {
      throw new TooManyRequests(undefined, Math.max(1, Math.ceil((counter.windowEndsAt - now) / 1000)));
    }
    counter.pending++;
  }

  /** A client new to this process starts from the shared total: one read per window. */
  #start(subject: string, now: number): Counter {
    const counter: Counter = {
      pending: 0,
      sending: 0,
      shared: 0,
      windowEndsAt: now + this.limit.windowSeconds * 1000,
    };
    counter.loading = this.store
      .current(this.#key(subject))
      .then((row) => {
        if (!row) return;
        counter.shared = row.count;
        counter.windowEndsAt = row.windowEndsAt.getTime();
      })
      .finally(() => {
        counter.loading = undefined;
      });
    this.#counters.set(subject, counter);
    return counter;
  }

  #key(subject: string): string {
    return `${this.limit.name}:${subject}`;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush().catch(() => {}), this.flushMs).unref();
  }

  /** Stops the timer and adds what is still pending (on shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(() => {});
  }

  /** Adds every pending count to the shared rows and reads the totals back. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const now = Date.now();
    const batch: { subject: string; hits: number }[] = [];
    for (const [subject, counter] of this.#counters) {
      // A subject quiet for a whole window is forgotten; the next request starts it again.
      if (counter.pending === 0 && counter.windowEndsAt <= now) this.#counters.delete(subject);
      else batch.push({ subject, hits: counter.pending });
    }
    if (batch.length === 0) return;
    for (const { subject, hits } of batch) {
      const counter = this.#counters.get(subject)!;
      counter.pending -= hits;
      counter.sending += hits;
    }
    let totals: Awaited<ReturnType<RateLimitStore['hitMany']>>;
    try {
      totals = await this.store.hitMany(
        batch.map((b) => ({ key: this.#key(b.subject), hits: b.hits })),
        this.limit.windowSeconds,
        { periodic: true },
      );
    } catch (err) {
      // The database is away: keep the hits for the next flush.
      for (const { subject, hits } of batch) {
        const counter = this.#counters.get(subject)!;
        counter.sending -= hits;
        counter.pending += hits;
      }
      throw err;
    }
    for (const { subject, hits } of batch) {
      const counter = this.#counters.get(subject)!;
      counter.sending -= hits;
      // hitMany answers with every key it counted.
      const total = totals.get(this.#key(subject))!;
      counter.shared = total.count;
      counter.windowEndsAt = total.windowEndsAt.getTime();
    }
  }
}
