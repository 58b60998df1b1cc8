import type { Db } from '../db/database.js';

/** Read-only SQL behind the admin API's statistics. */
export class AdminQueries {
  constructor(private readonly db: Db) {}

  /** Logins per day, method and outcome, and the accounts per certification level. */
  async loginsPerDay(days: number) {
    const since = new Date(Date.now() - days * 86_400_000);
    const logins = await this.db('audit_events')
      .select(
        this.db.raw(`to_char(occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as day`),
        'method',
        'outcome',
      )
      .count({ count: '*' })
      .where('type', 'login')
      .andWhere('occurred_at', '>=', since)
      .groupByRaw(`1, method, outcome`)
      .orderBy('day');
    const levels = await this.db('accounts')
      .select('certification_level as level')
      .count({ count: '*' })
      .where('status', '!=', 'closed')
      .groupBy('certification_level')
      .orderBy('certification_level');
    return {
      logins: logins.map((r) => ({ ...r, count: Number(r['count']) })),
      accountsByLevel: levels.map((r) => ({ ...r, count: Number(r['count']) })),
    };
  }
}
