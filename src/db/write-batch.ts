import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import { type Db, hotQuery } from './database.js';

/** A write whose result nobody waits for: SQL with `?` placeholders and its bindings. */
export interface DeferredWrite {
  sql: string;
  bindings: readonly Knex.Value[];
}

/**
 * What a store declares about the request's batch: the tables whose writes it may leave for the
 * batch (`defers`), and the tables it reads. A store that reads a table any store defers waits
 * for the pending writes first (`flushWriteBatch`), so it never reads around them;
 * test/lint/deferred-writes.test.ts enumerates the stores and drives every one of their
 * methods with writes pending to check it.
 */
export interface StoreTables {
  readonly defers: readonly string[];
  readonly reads: readonly string[];
}

/** Where a flush that failed after the request had already failed is told (pino's shape). */
export interface FlushFailureLog {
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * The writes of one request that nothing in the request reads back (oidc-provider saving the
 * session, the grant and the code and destroying the interaction; the audit row; the session's
 * device record), sent as one statement before the response leaves: a sign-in's last request
 * costs one round trip to the database instead of five.
 *
 * Each write is a data-modifying statement of one `WITH`, so they commit together or not at all,
 * and a failure is the request's failure (the browser never hears of a code that was not
 * stored). Two writes of the same row keep only the last (a save then a destroy is a destroy): a
 * single statement may not change one row twice. Whoever reads the written tables in the same
 * request flushes the batch first (ModelStore does), and after the flush the batch is closed:
 * work a request leaves running writes directly.
 *
 * A request takes part only where its route says so (`openWriteBatch` where the route is
 * declared); a store takes part by declaring the tables it defers (StoreTables).
 */
export class WriteBatch {
  readonly #writes = new Map<string | symbol, DeferredWrite & { table: string }>();
  #closed = false;
  /** The flush under way: a read that flushes waits for it too, so it never reads around it. */
  #inFlight: Promise<void> = Promise.resolve();
  #flushing = 0;

  /**
   * Keeps the write for the flush; false when the batch is closed (write it now). A write with a
   * key replaces an earlier one with the same key (one row); one without (an insert) never does.
   */
  defer(table: string, write: DeferredWrite, key: string | symbol = Symbol()): boolean {
    if (this.#closed) return false;
    this.#writes.delete(key);
    this.#writes.set(key, { sql: write.sql, bindings: write.bindings, table });
    return true;
  }

  /** The tables with writes waiting (not yet sent): a read of one of them must flush first. */
  get pendingTables(): ReadonlySet<string> {
    return new Set([...this.#writes.values()].map((w) => w.table));
  }

  /** Whether a read of the written tables must flush first. */
  get dirty(): boolean {
    return this.#writes.size > 0 || this.#flushing > 0;
  }

  /** Sends what is pending, as one statement, after any flush already under way. */
  flush(db: Db): Promise<void> {
    const writes = [...this.#writes.values()];
    this.#writes.clear();
    const before = this.#inFlight;
    this.#flushing += 1;
    const run = (async () => {
      try {
        await before.catch(() => undefined);
        if (!writes.length) return;
        if (writes.length === 1) {
          await db.raw(writes[0]!.sql, [...writes[0]!.bindings]);
          return;
        }
        const parts = writes.map((w, i) => `w${i} as (${w.sql})`);
        await db.raw(
          `with ${parts.join(',\n')}\nselect 1`,
          writes.flatMap((w) => [...w.bindings]),
        );
      } finally {
        this.#flushing -= 1;
      }
    })();
    this.#inFlight = run;
    return run;
  }

  close() {
    this.#closed = true;
  }
}

const current = new AsyncLocalStorage<WriteBatch>();

/** The batch of the request being served, if its route opened one. */
export function currentWriteBatch(): WriteBatch | undefined {
  return current.getStore();
}

/**
 * Runs `work` with a batch open, then flushes it, also when `work` failed (what was written
 * before the failure is written, as it would have been without the batch). A flush that fails
 * then is logged (the request's own error is the one that travels on).
 */
export async function withWriteBatch<T>(db: Db, work: () => Promise<T>, log?: FlushFailureLog): Promise<T> {
  const batch = new WriteBatch();
  let result: T;
  try {
    result = await current.run(batch, work);
  } catch (err) {
    batch.close();
    await batch.flush(db).catch((flushErr: unknown) => {
      // The error's code and message only: the statement's bindings carry personal data.
      const { code, message } = (flushErr ?? {}) as { code?: unknown; message?: unknown };
      log?.error(
        { err: { code, message: typeof message === 'string' ? message.slice(0, 300) : undefined } },
        'the deferred writes of a failed request were not written',
      );
    });
    throw err;
  }
  batch.close();
  await batch.flush(db);
  return result;
}

/**
 * The middleware a route declares to take part: its writes that nothing in the request reads
 * back go to the database as one statement before its answer leaves.
 */
export function openWriteBatch(db: Db, log: FlushFailureLog) {
  return <T>(_ctx: unknown, next: () => Promise<T>): Promise<T> => withWriteBatch(db, next, log);
}

/**
 * The flush a statement that must see the current request's writes waits for first; undefined
 * (nothing to wait for, not even a tick) outside a batch, as on every /token and /me.
 */
export function flushWriteBatch(db: Db): Promise<void> | undefined {
  const batch = current.getStore();
  return batch?.dirty ? batch.flush(db) : undefined;
}

/**
 * A write nothing in the request reads back: kept for the request's batch when one is open (`key`
 * names the row, so a later write of it replaces this one), otherwise sent now.
 */
export function deferOrWrite(db: Db, table: string, write: DeferredWrite, key?: string): Promise<void> {
  if (current.getStore()?.defer(table, write, key)) return Promise.resolve();
  return writeNow(db, write);
}

/** A write sent now, after the request's pending writes (so it lands in the request's order). */
export async function writeNow(db: Db, write: DeferredWrite): Promise<void> {
  await afterPendingWrites(db, () => hotQuery(db, write.sql, write.bindings));
}

/**
 * `send` once the request's pending writes are sent, so that a write of its own lands in the
 * request's order; with none pending, at once (not even a tick: the token paths come here).
 */
export function afterPendingWrites<T>(db: Db, send: () => Promise<T>): Promise<T> {
  const flushing = flushWriteBatch(db);
  return flushing ? flushing.then(send) : send();
}
