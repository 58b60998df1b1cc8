import { readdir, readFile } from 'node:fs/promises';
import type { Database, Db } from './database.js';

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
/** Arbitrary, fixed: every Unified ID process contends for the same advisory lock. */
const MIGRATION_LOCK_KEY = 7_331_001;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies the numbered SQL files in migrations/ that have not run yet, all in one
 * transaction under an advisory lock: processes started together wait for each other
 * instead of racing, and a failing migration leaves nothing half-applied.
 */
export async function migrate(db: Db): Promise<MigrationResult> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    await trx.raw(`create table if not exists schema_migrations (
      name text primary key,
      applied_at timestamptz not null default now()
    )`);
    const done = new Set(
      (await trx('schema_migrations').select('name')).map((r: { name: string }) => r.name),
    );
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
      for (const statement of splitStatements(sql)) await trx.raw(statement);
      await trx('schema_migrations').insert({ name: file });
      applied.push(file);
    }
    return { applied };
  });
}

/**
 * The embedded driver runs one statement per call, so files are split at a `;` that ends a
 * line, except inside a dollar-quoted body (`$$ … $$`, a function's), whose own statements end
 * lines too. Whole-line `--` comments are dropped first.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let inBody = false;
  for (const line of sql.split('\n')) {
    if (!inBody && /^\s*--/.test(line)) continue;
    current.push(line);
    // An odd number of `$$` on a line opens or closes a body.
    if ((line.match(/\$\$/g)?.length ?? 0) % 2 === 1) inBody = !inBody;
    if (!inBody && /;\s*$/.test(line)) {
      statements.push(current.join('\n').trim().replace(/;$/, ''));
      current = [];
    }
  }
  statements.push(current.join('\n').trim());
  return statements.filter(Boolean);
}

const STARTUP_LOCK_KEY = 7_331_004;

/**
 * Start-up work that looks for a row and creates it when missing (the provider's own clients):
 * on PostgreSQL, processes started together take turns, so exactly one of them creates it. The
 * work runs on its own connections while this one holds the lock; the embedded database has a
 * single connection and a single process, so it needs no lock there.
 */
export async function underStartupLock<T>(database: Database, work: () => Promise<T>): Promise<T> {
  if (database.embedded) return work();
  return database.db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [STARTUP_LOCK_KEY]);
    return work();
  });
}
