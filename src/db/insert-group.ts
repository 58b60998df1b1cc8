import type { Knex } from 'knex';
import { type Db, hotQuery } from './database.js';

/** A row's values in the statement's column order, as text (cast in the statement); its key names it among the rows of one turn. */
export interface GroupedRow {
  key: string;
  values: readonly (string | null)[];
}

interface Waiting extends GroupedRow {
  resolve(): void;
  reject(err: unknown): void;
}

/** Rows one statement carries at most: enough for every request a process has open at once. */
const MAX_ROWS = 256;

/**
 * Rows that concurrent requests write into one table, sent as one statement per turn (group
 * commit): the first row goes at once, and the rows that arrive while a statement is under way go
 * together in the next, so rows are written in the order asked (one turn at a time). Each caller's promise settles when its own row is committed,
 * so nothing is answered before it is written. On the embedded database a statement costs
 * ~300–600 µs of CPU whatever it carries, and 8 rows in one cost ~100 µs each (32: ~40); on
 * PostgreSQL the driver's work per statement (pg, the pool) is what a turn shares.
 *
 * `statement` takes arrays, one per column, each of the turn's values in row order (`unnest`), so
 * its text is the same for any number of rows.
 */
export class InsertGroup {
  readonly #waiting: Waiting[] = [];
  #sending = false;

  constructor(
    private readonly db: Db,
    private readonly statement: string,
  ) {}

  write(row: GroupedRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ ...row, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#sending || this.#waiting.length === 0) return;
    this.#sending = true;
    void this.#send(this.#waiting.splice(0, MAX_ROWS)).finally(() => {
      this.#sending = false;
      this.#next();
    });
  }

  async #send(turn: Waiting[]): Promise<void> {
    try {
      await hotQuery(this.db, this.statement, columnsOf(lastOfEachKey(turn)));
      for (const w of turn) w.resolve();
    } catch (err) {
      if (turn.length === 1) return turn[0]!.reject(err);
      // One row that the database refuses must fail its own request only: each again alone.
      await Promise.all(
        turn.map((w) => hotQuery(this.db, this.statement, columnsOf([w])).then(w.resolve, w.reject)),
      );
    }
  }
}

/** A key written twice in one turn is written once, as last asked (one statement can not touch a row twice). */
function lastOfEachKey(turn: Waiting[]): Waiting[] {
  const byKey = new Map<string, Waiting>();
  for (const w of turn) {
    byKey.delete(w.key);
    byKey.set(w.key, w);
  }
  return byKey.size === turn.length ? turn : [...byKey.values()];
}

/** One array per column: the drivers send a JavaScript array as a PostgreSQL one. */
function columnsOf(rows: readonly GroupedRow[]): Knex.Value[] {
  const columns: (string | null)[][] = rows[0]!.values.map(() => []);
  for (const row of rows) {
    for (const [i, v] of row.values.entries()) columns[i]!.push(v);
  }
  return columns as unknown as Knex.Value[];
}
