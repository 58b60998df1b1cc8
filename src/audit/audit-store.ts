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
