import type { Db } from '../db/database.js';

/** Read-only SQL behind the admin API's statistics. */
export class AdminQueries {
  constructor(private readonly db: Db) {}

  /**
   * Logins per day, method, outcome and certification level, and the accounts per level. The
   * level is the account's as it is now (levels only rise, and rarely): the audit row of a
   * login does not repeat it.
   */
  async loginsPerDay(days: number) {
    const since = new Date(Date.now() - days * 86_400_000);
    const logins = await this.db('audit_events')
      .leftJoin('accounts', 'accounts.id', 'audit_events.account_id')
      .select(
        this.db.raw(`to_char(audit_events.occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as day`),
        'audit_events.method',
        'audit_events.outcome',
        'accounts.certification_level as level',
      )
      .count({ count: '*' })
      .where('audit_events.type', 'login')
      .andWhere('audit_events.occurred_at', '>=', since)
      .groupByRaw(`1, audit_events.method, audit_events.outcome, accounts.certification_level`)
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
