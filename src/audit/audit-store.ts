import { affected, type Db, PERIODIC_STATEMENT, rowsOf } from '../db/database.js';

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
  /** The row's place in the chain; null while it waits for the sealer (pending). */
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
}

/** A sealed row: one the chain covers. */
export type SealedRow = AuditRow & { seq: number; prev_hash: string; hash: string };

export interface AuditFilter {
  accountId?: string | undefined;
  type?: string | undefined;
  since?: Date | undefined;
  limit: number;
}

/** The sealed end of the chain, and where the kept part of it starts (after archiving). */
export interface AuditHead {
  sealed_seq: number;
  sealed_hash: string;
  /** The id of the row at sealed_seq (0 when none). */
  sealed_id: number;
  base_seq: number;
  base_hash: string;
  /** The signed checkpoint naming (base_seq, base_hash), once rows were archived. */
  base_checkpoint: string | null;
  /** When the newest checkpoint was signed, and the place in the chain it names. */
  checkpoint_at: Date | null;
  checkpoint_seq: number;
}

export interface CheckpointRow {
  seq: number;
  event_id: number;
  hash: string;
  signed_at: Date;
  jws: string;
}

export interface Link {
  id: number;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** Arbitrary, fixed: the one lock every process's sealer contends for. */
const SEALER_LOCK_KEY = 7_331_016;

const number = (v: unknown) => Number(v ?? 0);

/** SQL for audit_events, audit_head (the chain's sealed end) and audit_checkpoints. */
export class AuditStore {
  constructor(private readonly db: Db) {}

  /** One plain insert: no lock, no read of the chain. The sealer chains it shortly after. */
  async append(row: Omit<AuditRow, 'id' | 'seq' | 'prev_hash' | 'hash'>): Promise<void> {
    await this.db('audit_events').insert({ ...row, detail: JSON.stringify(row.detail) });
  }

  /** The newest rows first, sealed or not, narrowed by whichever filters are given. */
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
    return number(row?.id);
  }

  async head(trx: Db = this.db, forUpdate = false): Promise<AuditHead> {
    const query = trx('audit_head').first();
    if (forUpdate) query.forUpdate();
    const row = await query;
    return {
      sealed_seq: number(row.sealed_seq),
      sealed_hash: row.sealed_hash,
      sealed_id: number(row.sealed_id),
      base_seq: number(row.base_seq),
      base_hash: row.base_hash,
      base_checkpoint: row.base_checkpoint ?? null,
      checkpoint_at: row.checkpoint_at ? new Date(row.checkpoint_at) : null,
      checkpoint_seq: number(row.checkpoint_seq),
    };
  }

  async pendingCount(): Promise<number> {
    const row = await this.db('audit_events').whereNull('seq').count({ n: '*' }).first();
    return number(row?.n);
  }

  /** The sealed chain in its order, a page at a time: rows after `afterSeq` up to `upToSeq`. */
  async *chain(afterSeq: number, upToSeq: number, pageSize = 5000): AsyncGenerator<SealedRow> {
    let after = afterSeq;
    for (;;) {
      const rows = (
        await this.db('audit_events')
          .where('seq', '>', after)
          .andWhere('seq', '<=', upToSeq)
          .orderBy('seq')
          .limit(pageSize)
      ).map(normalise) as SealedRow[];
      if (!rows.length) return;
      yield* rows;
      after = rows.at(-1)!.seq;
    }
  }

  /** The row at a place in the chain, if it is still there. */
  async atSeq(seq: number): Promise<SealedRow | undefined> {
    const row = await this.db('audit_events').where({ seq }).first();
    return row ? (normalise(row) as SealedRow) : undefined;
  }

  /**
   * Runs `work` as the only sealer of the cluster, in one transaction. The lock is a
   * transaction-level advisory lock (no session state, so PgBouncer in transaction mode works):
   * each pass elects its sealer again, and a process that dies mid-pass loses the lock with its
   * connection. Without `wait`, answers undefined at once when another process holds it.
   */
  async asSealer<T>(wait: boolean, work: (trx: Db) => Promise<T>): Promise<T | undefined> {
    return this.db.transaction(async (trx) => {
      if (wait) {
        await trx.raw(`${PERIODIC_STATEMENT} select pg_advisory_xact_lock(?)`, [SEALER_LOCK_KEY]);
      } else {
        const [row] = rowsOf<{ locked: boolean }>(
          await trx.raw(`${PERIODIC_STATEMENT} select pg_try_advisory_xact_lock(?) as locked`, [
            SEALER_LOCK_KEY,
          ]),
        );
        if (!row?.locked) return undefined;
      }
      return work(trx);
    });
  }

  /** The oldest rows waiting for the sealer, in id order. */
  async pending(trx: Db, limit: number): Promise<AuditRow[]> {
    return (await trx('audit_events').whereNull('seq').orderBy('id').limit(limit)).map(normalise);
  }

  /** Writes the links the sealer computed, all in one statement, and moves the head. */
  async link(trx: Db, links: Link[]): Promise<void> {
    if (!links.length) return;
    await trx.raw(
      `${PERIODIC_STATEMENT}
       update audit_events e
          set seq = l.seq, prev_hash = l.prev_hash, hash = l.hash
         from jsonb_to_recordset(?::jsonb) as l(id bigint, seq bigint, prev_hash text, hash text)
        where e.id = l.id and e.seq is null`,
      [JSON.stringify(links)],
    );
    const last = links.at(-1)!;
    await trx('audit_head').update({ sealed_seq: last.seq, sealed_hash: last.hash, sealed_id: last.id });
  }

  async addCheckpoint(trx: Db, checkpoint: CheckpointRow): Promise<void> {
    await trx('audit_checkpoints').insert(checkpoint);
    await trx('audit_head').update({ checkpoint_at: checkpoint.signed_at, checkpoint_seq: checkpoint.seq });
  }

  async newestCheckpoint(): Promise<CheckpointRow | undefined> {
    const row = await this.db('audit_checkpoints')
      .orderBy('seq', 'desc')
      .orderBy('signed_at', 'desc')
      .first();
    return row ? normaliseCheckpoint(row) : undefined;
  }

  /** Checkpoints past the kept chain's start and signed before `before`, oldest first. */
  async checkpointsToArchive(afterSeq: number, before: Date): Promise<CheckpointRow[]> {
    const rows = await this.db('audit_checkpoints')
      .where('seq', '>', afterSeq)
      .andWhere('signed_at', '<', before)
      .orderBy('seq')
      .orderBy('signed_at');
    return rows.map(normaliseCheckpoint);
  }

  /**
   * Removes the archived rows up to a checkpoint's row, and makes that checkpoint the start of
   * the kept chain, in one transaction: `verify` never sees a start that the rows contradict.
   */
  async removeArchived(checkpoint: CheckpointRow): Promise<number> {
    return this.asSealer(true, async (trx) => {
      const head = await this.head(trx, true);
      const removed = await trx('audit_events')
        .where('seq', '>', head.base_seq)
        .andWhere('seq', '<=', checkpoint.seq)
        .delete();
      await trx('audit_checkpoints').where('seq', '<', checkpoint.seq).delete();
      await trx('audit_head').update({
        base_seq: checkpoint.seq,
        base_hash: checkpoint.hash,
        base_checkpoint: checkpoint.jws,
      });
      return affected(removed);
    }) as Promise<number>;
  }
}

function normalise(row: AuditRow): AuditRow {
  return {
    ...row,
    id: Number(row.id),
    seq: row.seq === null || row.seq === undefined ? null : Number(row.seq),
    detail: typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail,
  };
}

function normaliseCheckpoint(row: CheckpointRow): CheckpointRow {
  return {
    ...row,
    seq: Number(row.seq),
    event_id: Number(row.event_id),
    signed_at: new Date(row.signed_at),
  };
}
