import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { createPostgresDatabase } from '../support/databases.js';
import { freePort } from '../support/server.js';

describe.skipIf(!process.env['TEST_DATABASE_URL'])(
  'processes started together on a new PostgreSQL database',
  () => {
    it('migrate once, make one set of signing keys and one 用户空间 client, and all serve', async () => {
      const database = await createPostgresDatabase();
      const secrets = {
        COOKIE_KEYS: randomBytes(32).toString('base64url'),
        DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      };
      const dirs: string[] = [];
      const started: RunningServer[] = [];
      try {
        const ports = await Promise.all([1, 2, 3].map(() => freePort()));
        const results = await Promise.allSettled(
          ports.map((port) => {
            const dataDir = mkdtempSync(path.join(tmpdir(), 'uid-start-'));
            dirs.push(dataDir);
            const config = loadConfig({
              NODE_ENV: 'test',
              PORT: String(port),
              HOST: '127.0.0.1',
              ISSUER: `http://localhost:${ports[0]}`,
              DATA_DIR: dataDir,
              DATABASE_URL: database.url,
              DEMO_CLIENT: 'true',
              LOG_LEVEL: 'silent',
              SHUTDOWN_DRAIN_MS: '0',
              ...secrets,
            });
            return startServer(config, { logger: pino({ level: 'silent' }) });
          }),
        );
        for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);

        const db = started[0]!.database.db;
        const migrations = await db('schema_migrations').select('name');
        expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
        const names = (await db('clients').select('name')).map((c) => c.name).sort();
        expect(names).toEqual([...new Set(names)]);
        expect(names).toContain('用户空间');
        const current = await db('signing_keys').where({ state: 'current' }).select('alg');
        expect(current.length).toBe(new Set(current.map((k) => k.alg)).size);

        for (const port of ports) {
          const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
          expect(res.status).toBe(200);
        }
      } finally {
        for (const server of started) await server.stop();
        await database.drop();
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
