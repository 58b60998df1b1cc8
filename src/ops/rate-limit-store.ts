import type { Db } from '../db/database.js';
import { PERIODIC_STATEMENT, rowsOf } from '../db/database.js';

/** SQL for rate_limits: one atomic upsert per hit, so every process shares the same counters. */
export class RateLimitStore {
  constructor(private readonly db: Db) {}

  /** Adds `hits` (1 unless a process flushes what it counted) to the key's current window. */
  async hit(key: string, windowSeconds: number, hits = 1): Promise<{ count: number; windowEndsAt: Date }> {
    const result = await this.db.raw(
      `insert into rate_limits (key, count, window_ends_at)
       values (?, ?, now() + make_interval(secs => ?))
       on conflict (key) do update set
         count = case when rate_limits.window_ends_at <= now() then excluded.count
           else rate_limits.count + excluded.count end,
         window_ends_at = case when rate_limits.window_ends_at <= now()
           then now() + make_interval(secs => ?) else rate_limits.window_ends_at end
       returning count, window_ends_at`,
      [key, hits, windowSeconds, windowSeconds],
    );
    const [row] = rowsOf<{ count: number; window_ends_at: Date }>(result);
    return { count: Number(row!.count), windowEndsAt: new Date(row!.window_ends_at) };
  }

  /**
   * Adds each key's hits (0 just reads it back) to its current window and returns every key's
   * total, in one statement; `peek` keys are read alongside without being counted (the login
   * failure counters of an attempt that the same statement counts). `periodic` marks the
   * statement of a timer (the /token counters' flush) for the statement log. Callers with nothing
   * to count do not call it (the flush returns first).
   */
  async hitMany(
    hits: { key: string; hits: number }[],
    windowSeconds: number,
    { peek, periodic = false }: { peek?: string[]; periodic?: boolean } = {},
  ): Promise<Map<string, { count: number; windowEndsAt: Date }>> {
    const label = periodic ? `${PERIODIC_STATEMENT} ` : '';
    const peeked = peek
      ? `union all
       select key, count, window_ends_at from rate_limits
        where key = any(?::text[]) and window_ends_at > now()`
      : '';
    const result = await this.db.raw(
      `${label}with hit as (
         insert into rate_limits (key, count, window_ends_at)
         select key, hits, now() + make_interval(secs => ?)
           from unnest(?::text[], ?::int[]) as h(key, hits)
         on conflict (key) do update set
           count = case when rate_limits.window_ends_at <= now() then excluded.count
             else rate_limits.count + excluded.count end,
           window_ends_at = case when rate_limits.window_ends_at <= now()
             then excluded.window_ends_at else rate_limits.window_ends_at end
         returning key, count, window_ends_at
       )
       select key, count, window_ends_at from hit
       ${peeked}`,
      [windowSeconds, hits.map((h) => h.key), hits.map((h) => h.hits), ...(peek ? [peek] : [])],
    );
    return new Map(
      rowsOf<{ key: string; count: number; window_ends_at: Date }>(result).map((r) => [
        r.key,
        { count: Number(r.count), windowEndsAt: new Date(r.window_ends_at) },
      ]),
    );
  }

  /** The key's current window, if it has one. */
  async current(key: string): Promise<{ count: number; windowEndsAt: Date } | undefined> {
    const row = await this.db('rate_limits')
      .where('key', key)
      .andWhere('window_ends_at', '>', this.db.fn.now())
      .first();
    return row ? { count: Number(row.count), windowEndsAt: new Date(row.window_ends_at) } : undefined;
  }

  async peek(key: string): Promise<number> {
    const row = await this.db('rate_limits')
      .where('key', key)
      .andWhere('window_ends_at', '>', this.db.fn.now())
      .first();
    return row ? Number(row.count) : 0;
  }

  async reset(key: string) {
    await this.db('rate_limits').where({ key }).delete();
  }
}
