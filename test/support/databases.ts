import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated PostgreSQL database the run's test databases are made from, if it has one. */
    postgresTemplate: string | undefined;
  }
}

export type DatabaseKind = 'pglite' | 'postgres';

/**
 * The suite runs on the embedded database, and again on PostgreSQL when TEST_DATABASE_URL is set.
 * TEST_DATABASES=postgres runs only the PostgreSQL half (the CRYPTO_PROFILE=gm pass of .ci/run).
 */
export function databaseKinds(): DatabaseKind[] {
  const kinds: DatabaseKind[] = process.env['TEST_DATABASE_URL'] ? ['pglite', 'postgres'] : ['pglite'];
  const only = process.env['TEST_DATABASES']?.split(',').map((k) => k.trim());
  if (!only) return kinds;
  const chosen = kinds.filter((k) => only.includes(k));
  if (chosen.length === 0) throw new Error(`TEST_DATABASES=${only.join(',')} names no database this run has`);
  return chosen;
}

/**
 * A fresh PostgreSQL database per test file, so files running side by side never see each other's
 * rows. Under vitest it is a copy of the run's migrated template (`makePostgresTemplate`), as
 * after a first start; `empty` gives a database no process has migrated yet.
 */
export async function createPostgresDatabase(
  options: { empty?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env['TEST_DATABASE_URL'];
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `uid_test_${randomBytes(6).toString('hex')}`;
  const template = options.empty || !process.env['VITEST'] ? undefined : inject('postgresTemplate');
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(
    `create database ${name}${template ? ` template ${template}${await fileCopy(admin)}` : ''}`,
  );
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * PostgreSQL 15 copies a template through its write-ahead log by default, which suits large
 * databases; copying the files of a small template took half the server's CPU (0.07 against
 * 0.14 s a copy, measured on this suite's template). Older servers copy files anyway.
 */
async function fileCopy(admin: pg.Client): Promise<string> {
  const { rows } = await admin.query<{ server_version_num: string }>('show server_version_num');
  return Number(rows[0]?.server_version_num) >= 150000 ? ' strategy file_copy' : '';
}

/**
 * The migrated database of these migrations on the TEST_DATABASE_URL server, made once and kept
 * like the embedded template (`key` as for that one): the migrations are about 0.2 s of the
 * server's CPU and 1 s of waiting per test database otherwise. It is migrated under a name of
 * its own and renamed into place, so no run copies half of one; two runs that make it at once
 * both succeed, and the second's copy is dropped. No one connects to it afterwards, which
 * PostgreSQL requires of a template.
 */
export async function makePostgresTemplate(key: string): Promise<string | undefined> {
  const base = process.env['TEST_DATABASE_URL'];
  if (!base) return undefined;
  const name = `uid_template_${key}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return name;
    const making = `uid_making_${key}_${randomBytes(4).toString('hex')}`;
    await admin.query(`create database ${making}`);
    const url = new URL(base);
    url.pathname = `/${making}`;
    const database = openDatabase({ databaseUrl: url.href, dataDir: '', poolMax: 1 });
    try {
      await migrate(database.db);
    } finally {
      await database.close();
    }
    try {
      await admin.query(`alter database ${making} rename to ${name}`);
    } catch (err) {
      // Another run renamed its own first: the same template, keep that one.
      await admin.query(`drop database if exists ${making}`);
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return name;
  } finally {
    await admin.end();
  }
}
