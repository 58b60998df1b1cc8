import type { Knex } from 'knex';
import { type Db, PERIODIC_STATEMENT, rowsOf } from '../db/database.js';
import { deferOrWrite, flushWriteBatch, type StoreTables } from '../db/write-batch.js';

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
  static readonly tables: StoreTables = {
    defers: ['audit_events'],
    reads: ['audit_events', 'audit_head', 'audit_checkpoints'],
  };

  constructor(private readonly db: Db) {}

  /** One plain insert: no lock, no read of the chain. The sealer chains it shortly after. */
  async append(row: Omit<AuditRow, 'id' | 'seq' | 'prev_hash' | 'hash'>): Promise<void> {
    // In a sign-in's requests the row goes with the request's other writes (write-batch.ts).
    await deferOrWrite(
      this.db,
      'audit_events',
      this.db('audit_events')
        .insert({ ...row, detail: JSON.stringify(row.detail) })
        .toSQL(),
    );
  }

  /** The newest rows first, sealed or not, narrowed by whichever filters are given. */
  async query(filter: AuditFilter): Promise<AuditRow[]> {
    await flushWriteBatch(this.db);
    const query = this.db('audit_events').orderBy('id', 'desc').limit(filter.limit);
    if (filter.accountId) query.where('account_id', filter.accountId);
    if (filter.type) query.where('type', filter.type);
    if (filter.since) query.where('occurred_at', '>=', filter.since);
    return (await query).map(normalise);
  }

  /** The chain's sealed end as it stands. */
  async head(): Promise<AuditHead> {
    return toHead(await this.db('audit_head').first());
  }

  async pendingCount(): Promise<number> {
    await flushWriteBatch(this.db);
    const row = await this.db('audit_events').whereNull('seq').count({ n: '*' }).first();
    return number(row?.n);
  }

  /** The sealed chain in its order, a page at a time: rows after `afterSeq` up to `upToSeq`. */
  async *chain(afterSeq: number, upToSeq: number, pageSize = 5000): AsyncGenerator<SealedRow> {
    await flushWriteBatch(this.db);
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

  /**
   * The head, and whether any row is pending, in one statement: an idle pass costs no more.
   * Marked periodic, as all the sealer's statements: they belong to no request.
   */
  async glance(): Promise<AuditHead & { anyPending: boolean }> {
    await flushWriteBatch(this.db);
    const [row] = rowsOf<Record<string, unknown>>(
      await this.db.raw(
        `${PERIODIC_STATEMENT} select h.*, exists (select 1 from audit_events where seq is null) as any_pending
           from audit_head h`,
      ),
    );
    return { ...toHead(row), anyPending: Boolean(row?.['any_pending']) };
  }

  /**
   * Runs `work` as the only sealer of the cluster, in one transaction on one connection. The
   * lock is a transaction-level advisory lock (no session state, so PgBouncer in transaction
   * mode works): each pass elects its sealer again, and a process that dies mid-pass loses the
   * lock with its connection. Without `wait`, answers undefined at once when another process
   * holds it. (BEGIN and COMMIT are sent by hand, marked periodic like the rest, so that what
   * counts a request's statements leaves them out.)
   */
  async asSealer<T>(wait: boolean, work: (session: SealerSession) => Promise<T>): Promise<T | undefined> {
    const client = this.db.client as {
      acquireConnection(): Promise<unknown>;
      releaseConnection(connection: unknown): Promise<unknown>;
    };
    await flushWriteBatch(this.db);
    const connection = await client.acquireConnection();
    const sql = async <R>(text: string, bindings: readonly unknown[] = []): Promise<R[]> =>
      rowsOf<R>(
        await this.db
          .raw(`${PERIODIC_STATEMENT} ${text}`, bindings as Knex.RawBinding[])
          .connection(connection as never),
      );
    let open = false;
    try {
      await sql('begin');
      open = true;
      // A sealer that stalls (its process frozen, not dead) is cut off by the server, which frees
      // the lock for the others: a pass takes milliseconds.
      const stall = "set_config('idle_in_transaction_session_timeout', '10s', true)";
      if (wait) await sql(`select ${stall}, pg_advisory_xact_lock(?)`, [SEALER_LOCK_KEY]);
      else {
        const [row] = await sql<{ locked: boolean }>(
          `select ${stall}, pg_try_advisory_xact_lock(?) as locked`,
          [SEALER_LOCK_KEY],
        );
        if (!row?.locked) {
          open = false;
          await sql('rollback');
          return undefined;
        }
      }
      const result = await work(new SealerSession(sql));
      open = false;
      await sql('commit');
      return result;
    } catch (err) {
      if (open) await sql('rollback').catch(() => {});
      throw err;
    } finally {
      await client.releaseConnection(connection);
    }
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
  async removeArchived(checkpoint: CheckpointRow): Promise<void> {
    await this.asSealer(true, (session) => session.cutBefore(checkpoint));
  }
}

type Sql = <R>(text: string, bindings?: readonly unknown[]) => Promise<R[]>;

/** The statements of one sealing pass, on the connection that holds the sealer's lock. */
export class SealerSession {
  constructor(private readonly sql: Sql) {}

  async head(): Promise<AuditHead> {
    const [row] = await this.sql<Record<string, unknown>>('select * from audit_head for update');
    return toHead(row);
  }

  /** The oldest rows waiting for the sealer, in id order. */
  async pending(limit: number): Promise<AuditRow[]> {
    return (
      await this.sql<AuditRow>('select * from audit_events where seq is null order by id limit ?', [limit])
    ).map(normalise);
  }

  /** Writes the links the sealer computed, all in one statement, and moves the head. */
  async link(links: Link[]): Promise<void> {
    if (!links.length) return;
    await this.sql(
      `update audit_events e
          set seq = l.seq, prev_hash = l.prev_hash, hash = l.hash
         from jsonb_to_recordset(?::jsonb) as l(id bigint, seq bigint, prev_hash text, hash text)
        where e.id = l.id and e.seq is null`,
      [JSON.stringify(links)],
    );
    const last = links.at(-1)!;
    await this.sql('update audit_head set sealed_seq = ?, sealed_hash = ?, sealed_id = ?', [
      last.seq,
      last.hash,
      last.id,
    ]);
  }

  async addCheckpoint(checkpoint: CheckpointRow): Promise<void> {
    await this.sql(
      'insert into audit_checkpoints (seq, event_id, hash, signed_at, jws) values (?, ?, ?, ?, ?)',
      [checkpoint.seq, checkpoint.event_id, checkpoint.hash, checkpoint.signed_at, checkpoint.jws],
    );
    await this.sql('update audit_head set checkpoint_at = ?, checkpoint_seq = ?', [
      checkpoint.signed_at,
      checkpoint.seq,
    ]);
  }

  async cutBefore(checkpoint: CheckpointRow): Promise<void> {
    const head = await this.head();
    await this.sql('delete from audit_events where seq > ? and seq <= ?', [head.base_seq, checkpoint.seq]);
    await this.sql('delete from audit_checkpoints where seq < ?', [checkpoint.seq]);
    await this.sql('update audit_head set base_seq = ?, base_hash = ?, base_checkpoint = ?', [
      checkpoint.seq,
      checkpoint.hash,
      checkpoint.jws,
    ]);
  }
}

function toHead(row: Record<string, unknown> | undefined): AuditHead {
  const r = row ?? {};
  return {
    sealed_seq: number(r['sealed_seq']),
    sealed_hash: (r['sealed_hash'] as string | undefined) ?? 'genesis',
    sealed_id: number(r['sealed_id']),
    base_seq: number(r['base_seq']),
    base_hash: (r['base_hash'] as string | undefined) ?? 'genesis',
    base_checkpoint: (r['base_checkpoint'] as string | null | undefined) ?? null,
    checkpoint_at: r['checkpoint_at'] ? new Date(r['checkpoint_at'] as string) : null,
    checkpoint_seq: number(r['checkpoint_seq']),
  };
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
