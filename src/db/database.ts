import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import knexPkg, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import { EmbeddedDatabaseBusy } from './embedded-busy.js';

export type Db = Knex;

// PostgreSQL returns bigint counts and timestamps as strings by default; parse bigint so counts are numbers.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolMax?: number;
  /**
   * A long-lived process (the server): a new embedded database is made in a child process, so its
   * initdb memory is not kept for the process's life. Short commands make it themselves, faster.
   */
  initialiseApart?: boolean;
}

export interface Database {
  db: Db;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * The embedded database belongs to one process: a lock file with the owner's pid keeps a
 * second process (the CLI while the server runs) from opening and corrupting it.
 */
function lockEmbedded(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, 'unified-id.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
        throw new EmbeddedDatabaseBusy(
          `the embedded database in ${dir} is in use by process ${owner}; stop it first, or set DATABASE_URL to use PostgreSQL`,
        );
      }
      rmSync(lockFile, { force: true }); // left by a process that died
    }
  }
  throw new EmbeddedDatabaseBusy(`could not lock the embedded database in ${dir}`);
}

/** Whether a process of this machine with that pid is running (another user's counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PostgreSQL's 128 MB of shared buffers live in PGlite's WebAssembly memory, which never shrinks:
 * once touched they stay resident. The embedded database is small and its files are in the
 * operating system's page cache anyway; 16 MB took an idle server from 366 to 221 MiB.
 */
const EMBEDDED_SETTINGS = ['shared_buffers = 16MB'];

/**
 * A new embedded database is made (initdb) in a short-lived child process: initdb grows PGlite's
 * WebAssembly memory to ~700 MiB, which never shrinks, so a server that made its own database
 * kept that for its whole life (measured: idle 735 MiB on a first start against 221 on the next).
 */
function initialiseEmbedded(dir: string) {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return;
  // Run from the package root, where the child's bare import finds node_modules (src/ or dist/).
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = `const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite(${JSON.stringify(dir)}, { postgresqlconf: ${JSON.stringify(EMBEDDED_SETTINGS)} });
    await db.waitReady; await db.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export function openDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) {
    const db = knexPkg.knex({
      client: 'pg',
      connection: { connectionString: options.databaseUrl, application_name: 'unified-id' },
      pool: { min: 0, max: options.poolMax ?? 10, acquireTimeoutMillis: 5000 },
      acquireConnectionTimeout: 5000,
    });
    direct.add(db);
    return { db, embedded: false, close: () => db.destroy() };
  }
  const dir = path.join(options.dataDir, 'pglite');
  const unlock = lockEmbedded(options.dataDir);
  if (options.initialiseApart) initialiseEmbedded(dir);
  const pglite = new PGlite(dir, { postgresqlconf: EMBEDDED_SETTINGS });
  // knex's types know only sqlite's `filename`; knex-pglite takes a ready-made instance too.
  const connection = { pglite } as unknown as { filename: string };
  const db = knexPkg.knex({ client: ClientPgLite, dialect: 'postgres', connection });
  return {
    db,
    embedded: true,
    async close() {
      try {
        await db.destroy();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * Opens a statement that a timer runs (the sweeper, the /token counters' flush), for whoever
 * reads the statement log (pg_stat_statements, the bench's count per request): it belongs to no
 * request.
 */
export const PERIODIC_STATEMENT = '/* periodic */';

/** The PostgreSQL instances whose pooled connections `hotQuery` may use itself. */
const direct = new WeakSet<Db>();

/** Whether the database is a PostgreSQL server (not the embedded one). */
export function onPostgres(db: Db): boolean {
  return direct.has(db);
}

/** `?` placeholders numbered as PostgreSQL's `$n`, by statement text. */
const positioned = new Map<string, string>();

/** What of knex's client `hotQuery` uses: its pool and its placeholder numbering. */
interface PooledClient {
  acquireConnection(): Promise<{ query(sql: string, values: unknown[]): Promise<unknown> }>;
  releaseConnection(connection: unknown): Promise<void>;
  positionBindings(sql: string): string;
}

/**
 * One statement of a path every request takes (a presented token read with its context, an
 * access token stored), written as for knex's `raw` (`?` placeholders), answering what `raw`
 * answers. On PostgreSQL it goes to a connection of knex's own pool directly, past knex's query
 * runner, which costs about as much CPU again as pg itself does for such a statement (its query
 * object, builder and events: ~17 µs of ~60 measured per statement); knex's `query` event is still
 * raised, for those who count statements. On the embedded database and in a transaction it is
 * knex's `raw`.
 */
export async function hotQuery(db: Db, sql: string, bindings: readonly Knex.Value[]): Promise<unknown> {
  if (!direct.has(db)) return db.raw(sql, [...bindings]);
  const client = db.client as unknown as PooledClient;
  let text = positioned.get(sql);
  if (text === undefined) {
    // The hot statements are a handful of texts: numbering their placeholders (a regular
    // expression over the whole text) once each is enough.
    if (positioned.size >= 256) positioned.clear();
    text = client.positionBindings(sql);
    positioned.set(sql, text);
  }
  const values = [...bindings];
  const connection = await client.acquireConnection();
  try {
    db.emit('query', { method: 'raw', sql: text, bindings: values });
    return await connection.query(text, values);
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Rows changed by an UPDATE … RETURNING, the same on pg and PGlite. */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] }).rows ?? []);
}

/** Rows a DELETE touched: a number from pg, a result object from the embedded driver. */
export function affected(result: unknown): number {
  if (typeof result === 'number') return result;
  const r = result as { rowCount?: number; affectedRows?: number };
  return Number(r?.rowCount ?? r?.affectedRows ?? 0);
}
