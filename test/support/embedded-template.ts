import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
 * What the migrated template is made from: a change to any of these makes a new one. The
 * database code is in it because it decides how initdb runs and how migrations are recorded.
 */
export function templateKey(): string {
  const hash = createHash('sha256');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const migrations = path.join(root, 'migrations');
  const sources = [
    ...readdirSync(migrations)
      .sort()
      .map((name) => path.join(migrations, name)),
    path.join(root, 'src/db/migrate.ts'),
    path.join(root, 'src/db/database.ts'),
  ];
  for (const file of sources)
    hash
      .update(`${path.relative(root, file)}\0`)
      .update(readFileSync(file))
      .update('\0');
  hash.update(`pglite ${pgliteVersion()}\0${SETTINGS_FILE}\0${TEST_SETTINGS}`);
  return hash.digest('hex').slice(0, 16);
}

function pgliteVersion(): string {
  // The package's exports do not include its package.json: find it beside the resolved entry.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Test databases are thrown away, so the template does not make PostgreSQL wait for the disk;
 * and they are small, so their shared buffers are too. synchronous_commit stays on, as deployed:
 * a test checks that no connection is left in asynchronous commit. In postgresql.auto.conf,
 * which PostgreSQL reads after postgresql.conf: PGlite writes postgresql.conf anew at each start
 * from its `postgresqlconf` option, so settings appended there were gone by the first query.
 */
const SETTINGS_FILE = 'postgresql.auto.conf';
const TEST_SETTINGS = `# test copies only
fsync = off
full_page_writes = off
shared_buffers = 1MB
`;

/**
 * Where migrated templates are kept between runs: beside the checkout's packages, so that
 * `rm -rf node_modules` (and `npm ci`) removes them with everything else made from them.
 */
export const CACHE_DIR = fileURLToPath(
  new URL('../../node_modules/.cache/unified-id-test/', import.meta.url),
);

/**
 * The migrated embedded database of these migrations and this PGlite, made once and kept for the
 * next runs (`CACHE_DIR/template-<key>`): initdb and the migrations are about 5 s of CPU, as much
 * as a short test file. It is made in a folder of its own and renamed into place, so a run never
 * sees half a template, and two runs that start together both make one and the second rename
 * loses harmlessly. Templates of other keys and folders left by killed runs are removed here;
 * a run copies the template into its own folder first, so none depends on the cache afterwards.
 */
export async function cachedEmbeddedTemplate(): Promise<string> {
  const key = templateKey();
  const ready = path.join(CACHE_DIR, `template-${key}`);
  mkdirSync(CACHE_DIR, { recursive: true });
  removeStaleTemplates(key);
  if (existsSync(ready)) return ready;
  const making = mkdtempSync(path.join(CACHE_DIR, `making-${process.pid}-`));
  try {
    const database = openDatabase({ dataDir: making, initialiseApart: true });
    try {
      await migrate(database.db);
    } finally {
      await database.close();
    }
    appendFileSync(path.join(making, 'pglite', SETTINGS_FILE), TEST_SETTINGS);
    try {
      renameSync(path.join(making, 'pglite'), ready);
    } catch (err) {
      // Another run renamed its own first: the same template, keep that one.
      if (!existsSync(ready)) throw err;
    }
  } finally {
    rmSync(making, { recursive: true, force: true });
  }
  return ready;
}

function removeStaleTemplates(key: string) {
  for (const name of readdirSync(CACHE_DIR)) {
    const pid = /^making-(\d+)-/.exec(name)?.[1];
    const stale = pid
      ? !processAlive(Number(pid))
      : name.startsWith('template-') && name !== `template-${key}`;
    if (stale) rmSync(path.join(CACHE_DIR, name), { recursive: true, force: true });
  }
}

/** The run's copy of the cached template, made by the global setup: tests copy this one. */
export async function makeEmbeddedTemplate(runDir: string): Promise<void> {
  cpSync(await cachedEmbeddedTemplate(), path.join(runDir, 'template', 'pglite'), { recursive: true });
}

/** Copies the run's migrated embedded database into `dataDir` (made when missing), ready to open. */
export function copyEmbeddedTemplate(dataDir = runTempDir('db-')): string {
  mkdirSync(dataDir, { recursive: true });
  copyTree(path.join(runDir(), 'template', 'pglite'), path.join(dataDir, 'pglite'));
  return dataDir;
}

/**
 * The files' contents and the folders, nothing else: the template's ~1,000 files have no links,
 * owners or times anyone reads. cpSync checks and copies each file's metadata as well, which made
 * it 100 ms of CPU a copy against 70 (each test server on the embedded database makes one).
 */
function copyTree(from: string, to: string) {
  mkdirSync(to);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(source, path.join(to, entry.name));
    else copyFileSync(source, path.join(to, entry.name));
  }
}

/** An embedded database of its own for a unit test: a copy of the run's template, already migrated. */
export function openEmbeddedCopy(dataDir?: string): Database {
  return openDatabase({ dataDir: copyEmbeddedTemplate(dataDir) });
}
