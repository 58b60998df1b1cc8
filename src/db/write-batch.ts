import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Db } from './database.js';

/** A write whose result nobody waits for: SQL with `?` placeholders and its bindings. */
export interface DeferredWrite {
  sql: string;
  bindings: readonly Knex.Value[];
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
 */
export class WriteBatch {
  readonly #writes = new Map<string | symbol, DeferredWrite>();
  #closed = false;
  /** The flush under way: a read that flushes waits for it too, so it never reads around it. */
  #inFlight: Promise<void> = Promise.resolve();
  #flushing = 0;

  /**
   * Keeps the write for the flush; false when the batch is closed (write it now). A write with a
   * key replaces an earlier one with the same key (one row); one without (an insert) never does.
   */
  defer(write: DeferredWrite, key: string | symbol = Symbol()): boolean {
    if (this.#closed) return false;
    this.#writes.delete(key);
    this.#writes.set(key, write);
    return true;
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
 * before the failure is written, as it would have been without the batch).
 */
export async function withWriteBatch<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const batch = new WriteBatch();
  let result: T;
  try {
    result = await current.run(batch, work);
  } catch (err) {
    batch.close();
    await batch.flush(db).catch(() => undefined);
    throw err;
  }
  batch.close();
  await batch.flush(db);
  return result;
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
export function deferOrWrite(db: Db, write: DeferredWrite, key?: string): Promise<void> {
  if (current.getStore()?.defer(write, key)) return Promise.resolve();
  return writeNow(db, write);
}

/** A write sent now, after the request's pending writes (so it lands in the request's order). */
export async function writeNow(db: Db, write: DeferredWrite): Promise<void> {
  const flushing = flushWriteBatch(db);
  if (flushing) await flushing;
  await db.raw(write.sql, [...write.bindings]);
}
