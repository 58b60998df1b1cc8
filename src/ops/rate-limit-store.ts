import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for rate_limits: one atomic upsert per hit, so every process shares the same counters. */
export class RateLimitStore {
  constructor(private readonly db: Db) {}

  async hit(key: string, windowSeconds: number): Promise<{ count: number; windowEndsAt: Date }> {
    const result = await this.db.raw(
      `insert into rate_limits (key, count, window_ends_at)
       values (?, 1, now() + make_interval(secs => ?))
       on conflict (key) do update set
         count = case when rate_limits.window_ends_at <= now() then 1 else rate_limits.count + 1 end,
         window_ends_at = case when rate_limits.window_ends_at <= now()
           then now() + make_interval(secs => ?) else rate_limits.window_ends_at end
       returning count, window_ends_at`,
      [key, windowSeconds, windowSeconds],
    );
    const [row] = rowsOf<{ count: number; window_ends_at: Date }>(result);
    return { count: Number(row!.count), windowEndsAt: new Date(row!.window_ends_at) };
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
