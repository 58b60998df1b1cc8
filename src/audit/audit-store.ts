import type { Db } from '../db/database.js';

export interface AuditRow {
  id: number;
  occurred_at: Date;
  account_id: string | null;
  actor: string;
  type: string;
  method: string | null;
  outcome: string;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** SQL for audit_events. Appends are serialised so that each row can name its predecessor's hash. */
export class AuditStore {
  constructor(private readonly db: Db) {}

  async append(build: (prevHash: string) => Omit<AuditRow, 'id'>): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?)', [7_331_003]);
      const last = await trx('audit_events').select('hash').orderBy('id', 'desc').first();
      const row = build(last?.hash ?? 'genesis');
      await trx('audit_events').insert({ ...row, detail: JSON.stringify(row.detail) });
    });
  }

  async forAccount(accountId: string, since: Date, limit: number): Promise<AuditRow[]> {
    return (
      await this.db('audit_events')
        .where({ account_id: accountId })
        .andWhere('occurred_at', '>=', since)
        .orderBy('id', 'desc')
        .limit(limit)
    ).map(normalise);
  }

  /** Streams the whole chain in id order, a page at a time. */
  async *all(pageSize = 1000): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const rows = (await this.db('audit_events').where('id', '>', after).orderBy('id').limit(pageSize)).map(
        normalise,
      );
      if (!rows.length) return;
      yield* rows;
      after = Number(rows.at(-1)!.id);
    }
  }
}

function normalise(row: AuditRow): AuditRow {
  return { ...row, detail: typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail };
}
