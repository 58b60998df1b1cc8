import { randomBytes } from 'node:crypto';
import pg from 'pg';

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

/** A fresh PostgreSQL database per test file, so files running side by side never see each other's rows. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env['TEST_DATABASE_URL'];
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `uid_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
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
