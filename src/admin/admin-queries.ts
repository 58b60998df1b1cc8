import type { AuditRow } from '../audit/audit-store.js';
import type { Db } from '../db/database.js';
import { flushWriteBatch, type StoreTables } from '../db/write-batch.js';

/** The 审计日志 page's filters; every one optional. */
export interface AuditSearch {
  type?: string | undefined;
  actor?: string | undefined;
  accountId?: string | undefined;
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
  /** The newest row an export covers, fixed when it starts. */
  throughId?: number | undefined;
}

const DAY = `to_char((%s) at time zone 'Asia/Shanghai', 'YYYY-MM-DD')`;

/** Read-only SQL behind the admin API's statistics. */
export class AdminQueries {
  static readonly tables: StoreTables = { defers: [], reads: ['audit_events', 'accounts'] };

  constructor(private readonly db: Db) {}

  /**
   * Logins per day, method, outcome and certification level, and the accounts per level. The
   * level is the account's as it is now (levels only rise, and rarely): the audit row of a
   * login does not repeat it.
   */
  async loginsPerDay(days: number) {
    await flushWriteBatch(this.db);
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

  /** One page of the audit log, newest first, before the row `beforeId` (paging by id keeps pages stable). */
  async auditPage(search: AuditSearch, limit: number, beforeId?: number): Promise<AuditRow[]> {
    await flushWriteBatch(this.db);
    const query = this.#audit(search).orderBy('id', 'desc').limit(limit);
    if (beforeId) query.where('id', '<', beforeId);
    return (await query).map(normalise);
  }

  /** Every row the filters match, oldest first, a page at a time: an export of any size streams. */
  async *auditRows(search: AuditSearch, pageSize = 1000): AsyncGenerator<AuditRow> {
    await flushWriteBatch(this.db);
    let after = 0;
    for (;;) {
      const rows = (await this.#audit(search).where('id', '>', after).orderBy('id').limit(pageSize)).map(
        normalise,
      );
      if (!rows.length) return;
      yield* rows;
      after = Number(rows.at(-1)!.id);
    }
  }

  #audit(search: AuditSearch) {
    const query = this.db('audit_events');
    if (search.type) query.where('type', search.type);
    if (search.actor) query.where('actor', search.actor);
    if (search.accountId) query.where('account_id', search.accountId);
    if (search.from) query.where('occurred_at', '>=', search.from);
    if (search.to) query.where('occurred_at', '<', search.to);
    if (search.throughId !== undefined) query.where('id', '<=', search.throughId);
    return query;
  }

  /**
   * 统计概览's other series, per day (Beijing time) over the last `days`: accounts registered,
   * and lockouts (an operator's lock, or a password path locked by ten failures in a row; only
   * an account's latest password lock is kept, so earlier ones of the same account are not counted).
   */
  async dailyActivity(days: number) {
    await flushWriteBatch(this.db);
    const since = new Date(Date.now() - days * 86_400_000);
    const registrations = await this.db('accounts')
      .select(this.db.raw(`${DAY.replace('%s', 'created_at')} as day`))
      .count({ count: '*' })
      .where('created_at', '>=', since)
      .groupByRaw('1')
      .orderBy('day');
    const adminLocks = await this.db('audit_events')
      .select(this.db.raw(`${DAY.replace('%s', 'occurred_at')} as day`))
      .count({ count: '*' })
      .where('type', 'admin.account_locked')
      .andWhere('occurred_at', '>=', since)
      .groupByRaw('1');
    const passwordLocks = await this.db('accounts')
      .select(this.db.raw(`${DAY.replace('%s', "password_locked_until - interval '30 minutes'")} as day`))
      .count({ count: '*' })
      .whereNotNull('password_locked_until')
      .andWhere('password_locked_until', '>=', since)
      .groupByRaw('1');
    const lockouts = new Map<string, number>();
    for (const r of [...adminLocks, ...passwordLocks] as Record<string, unknown>[])
      lockouts.set(String(r['day']), (lockouts.get(String(r['day'])) ?? 0) + Number(r['count']));
    return {
      registrations: (registrations as Record<string, unknown>[]).map((r) => ({
        day: String(r['day']),
        count: Number(r['count']),
      })),
      lockouts: [...lockouts].map(([day, count]) => ({ day, count })),
    };
  }
}

function normalise(row: AuditRow): AuditRow {
  return { ...row, detail: typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail };
}
