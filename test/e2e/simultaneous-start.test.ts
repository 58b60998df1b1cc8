import { describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { deploymentSecrets, freePort, startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!process.env['TEST_DATABASE_URL'])(
  'processes started together on a new PostgreSQL database',
  () => {
    it('migrate once, make one set of signing keys and one 用户空间 client, and all serve', async () => {
      const database = await createPostgresDatabase({ empty: true });
      const started: TestServer[] = [];
      try {
        const ports = await Promise.all([1, 2, 3].map(() => freePort()));
        const env = {
          ISSUER: `http://localhost:${ports[0]}`,
          DATABASE_URL: database.url,
          DEMO_CLIENT: 'true',
          ...deploymentSecrets(),
        };
        const results = await Promise.allSettled(ports.map((port) => startTestServer({ port, env })));
        for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);

        const db = started[0]!.database.db;
        const migrations = await db('schema_migrations').select('name');
        expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
        const names = (await db('clients').select('name')).map((c) => c.name).sort();
        expect(names).toEqual([...new Set(names)]);
        expect(names).toContain('用户空间');
        expect(names).toContain('管理后台');
        const current = await db('signing_keys').where({ state: 'current' }).select('alg');
        expect(current.length).toBe(new Set(current.map((k) => k.alg)).size);

        for (const port of ports) {
          const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
          expect(res.status).toBe(200);
        }
      } finally {
        for (const server of started) await server.close();
        await database.drop();
      }
    });
  },
);
