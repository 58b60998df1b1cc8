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

export interface AuditFilter {
  accountId?: string | undefined;
  type?: string | undefined;
  since?: Date | undefined;
  limit: number;
}

/** SQL for audit_events, and audit_head: the hash the next row chains to. */
export class AuditStore {
  constructor(private readonly db: Db) {}

  /**
   * Appends one event in one statement: audit_head moves to sha256(previous hash, "\n", content)
   * and the row is inserted with both hashes. Concurrent appends, from any process, wait for the
   * head row's lock and then chain to the hash the one before them wrote.
   */
  async append(row: Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>, content: string): Promise<void> {
    await this.db.raw(
      `with head as (
         update audit_head
            set prev_hash = hash,
                hash = encode(sha256(convert_to(hash || chr(10) || ?, 'UTF8')), 'hex')
          returning prev_hash, hash
       )
       insert into audit_events
         (occurred_at, account_id, actor, type, method, outcome, ip, user_agent, detail, prev_hash, hash)
       select ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, head.prev_hash, head.hash from head`,
      [
        content,
        row.occurred_at,
        row.account_id,
        row.actor,
        row.type,
        row.method,
        row.outcome,
        row.ip,
        row.user_agent,
        JSON.stringify(row.detail),
      ],
    );
  }

  /** The hash of the newest row (or 'genesis'), as the last append left it. */
  async headHash(): Promise<string> {
    return (await this.db('audit_head').select('hash').first())?.hash ?? 'genesis';
  }

  /** The newest rows first, narrowed by whichever filters are given. */
  async query(filter: AuditFilter): Promise<AuditRow[]> {
    const query = this.db('audit_events').orderBy('id', 'desc').limit(filter.limit);
    if (filter.accountId) query.where('account_id', filter.accountId);
    if (filter.type) query.where('type', filter.type);
    if (filter.since) query.where('occurred_at', '>=', filter.since);
    return (await query).map(normalise);
  }

  /** The id of the newest row, or 0 when the log is empty. */
  async lastId(): Promise<number> {
    const row = await this.db('audit_events').max({ id: 'id' }).first();
    return Number(row?.id ?? 0);
  }

  /** Streams the chain in id order, a page at a time, up to and including row `upTo`. */
  async *all(upTo = Number.MAX_SAFE_INTEGER, pageSize = 1000): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const rows = (
        await this.db('audit_events')
          .where('id', '>', after)
          .andWhere('id', '<=', upTo)
          .orderBy('id')
          .limit(pageSize)
      ).map(normalise);
      if (!rows.length) return;
      yield* rows;
      after = Number(rows.at(-1)!.id);
    }
  }
}

function normalise(row: AuditRow): AuditRow {
  return { ...row, detail: typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail };
}
