import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type Database, openDatabase, processAlive } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's folder: the template below and the test servers' DATA_DIRs, removed at the end. */
    runDir: string;
  }
}

/**
 * Memory-backed when the machine has /dev/shm: a copy is ~1,000 files, and copying and removing
 * them on a disk's file system cost more CPU than the tests that used them.
 */
export function makeRunDir(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  removeAbandonedRunDirs(base);
  return mkdtempSync(path.join(base, `uid-run-${process.pid}-`));
}

/**
 * A run killed before its teardown (SIGKILL, a CI job stopped) leaves its folder behind, in
 * memory under /dev/shm: the next run removes those whose process is gone.
 */
function removeAbandonedRunDirs(base: string) {
  for (const name of readdirSync(base)) {
    const pid = /^uid-run-(\d+)-/.exec(name)?.[1];
    if (pid && !processAlive(Number(pid))) removeRunDir(path.join(base, name));
  }
}

export function removeRunDir(runDir: string) {
  rmSync(runDir, { recursive: true, force: true });
}

let ownRunDir: string | undefined;

/**
 * The run's folder: vitest's, made by its global setup with the template. A script that starts
 * test servers outside vitest (the load benchmark's statement counts) has no global setup: it gets
 * a folder of its own, removed when it exits, and no template (`hasEmbeddedTemplate`).
 */
function runDir(): string {
  if (hasEmbeddedTemplate()) return inject('runDir');
  if (!ownRunDir) {
    const dir = makeRunDir();
    ownRunDir = dir;
    process.once('exit', () => removeRunDir(dir));
  }
  return ownRunDir;
}

/** Whether this run has the migrated template to copy: under vitest only. */
export function hasEmbeddedTemplate(): boolean {
  return !!process.env['VITEST'];
}

/** A new folder in the run's folder, for a test server's DATA_DIR and the like. */
export function runTempDir(prefix: string): string {
  return mkdtempSync(path.join(runDir(), prefix));
}

/**
 * Made once per run by the global setup: initdb and the migrations, as a server's first start
 * does them. A new embedded database costs PGlite's initdb, about 5 s of CPU; a copy of this one
 * costs a file copy and an open (measured 0.2 + 0.35 s). Test databases are thrown away, so the
 * template does not make PostgreSQL wait for the disk at each commit.
 */
export async function makeEmbeddedTemplate(runDir: string): Promise<void> {
  const dataDir = path.join(runDir, 'template');
  mkdirSync(dataDir);
  const database = openDatabase({ dataDir, initialiseApart: true });
  try {
    await migrate(database.db);
  } finally {
    await database.close();
  }
  appendFileSync(
    path.join(dataDir, 'pglite', 'postgresql.conf'),
    '\n# test copies only\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n',
  );
}

/** Copies the run's migrated embedded database into `dataDir` (made when missing), ready to open. */
export function copyEmbeddedTemplate(dataDir = runTempDir('db-')): string {
  cpSync(path.join(runDir(), 'template', 'pglite'), path.join(dataDir, 'pglite'), {
    recursive: true,
  });
  return dataDir;
}

/** An embedded database of its own for a unit test: a copy of the run's template, already migrated. */
export function openEmbeddedCopy(dataDir?: string): Database {
  return openDatabase({ dataDir: copyEmbeddedTemplate(dataDir) });
}
