import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../../src/accounts/account-store.js';
import { AdminQueries } from '../../src/admin/admin-queries.js';
import { AuditStore } from '../../src/audit/audit-store.js';
import type { Database, Db } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import {
  currentWriteBatch,
  type StoreTables,
  type WriteBatch,
  withWriteBatch,
} from '../../src/db/write-batch.js';
import { ModelStore } from '../../src/oidc/model-store.js';
import { SessionMetaStore } from '../../src/oidc/session-meta-store.js';
import { openEmbeddedCopy } from '../support/embedded-template.js';

// The rule that keeps a request's write batch correct (src/db/write-batch.ts): whatever reads a
// table some store defers writes to sees those writes first. Here every store that names such a
// table is enumerated, and every one of its methods is driven with writes pending to every
// deferred table: a statement naming one of them before the pending writes went is a failure.

type Call = (store: never) => unknown;
interface Registered {
  file: string;
  tables: StoreTables;
  make: (db: Db) => object;
  /** Every method: how to drive it, or null when its source names no deferred table. */
  calls: Record<string, Call | null>;
}

const id = () => randomUUID();
const drain = async (rows: AsyncIterable<unknown>) => {
  for await (const _ of rows);
};

const STORES: Record<string, Registered> = {
  ModelStore: {
    file: 'src/oidc/model-store.ts',
    tables: ModelStore.tables,
    make: (db) => new ModelStore(db),
    calls: {
      upsert: (s: ModelStore) => s.upsert('RefreshToken', id(), { grantId: id() }, 60),
      find: (s: ModelStore) => s.find('Session', { uid: id() }),
      takeAccount: (s: ModelStore) => s.takeAccount(id()),
      consume: (s: ModelStore) => s.consume('AuthorizationCode', id()),
      destroy: (s: ModelStore) => s.destroy('Grant', id()),
      revokeByGrantId: (s: ModelStore) => s.revokeByGrantId(id()),
      sessionsOf: (s: ModelStore) => s.sessionsOf(id()),
      revokeClient: (s: ModelStore) => s.revokeClient(id(), 'site'),
      removeAllOf: (s: ModelStore) => s.removeAllOf(id()),
    },
  },
  AuditStore: {
    file: 'src/audit/audit-store.ts',
    tables: AuditStore.tables,
    make: (db) => new AuditStore(db),
    calls: {
      append: (s: AuditStore) =>
        s.append({
          occurred_at: new Date(),
          account_id: null,
          actor: 'test',
          type: 'test',
          method: null,
          outcome: 'success',
          ip: null,
          user_agent: null,
          detail: {},
        }),
      query: (s: AuditStore) => s.query({ limit: 5 }),
      head: null,
      pendingCount: (s: AuditStore) => s.pendingCount(),
      chain: (s: AuditStore) => drain(s.chain(0, 10)),
      glance: (s: AuditStore) => s.glance(),
      asSealer: (s: AuditStore) => s.asSealer(false, (session) => session.pending(5)),
      newestCheckpoint: null,
      checkpointsToArchive: null,
      removeArchived: (s: AuditStore) =>
        s.removeArchived({ seq: 0, event_id: 0, hash: 'genesis', signed_at: new Date(), jws: 'x' }),
    },
  },
  SessionMetaStore: {
    file: 'src/oidc/session-meta-store.ts',
    tables: SessionMetaStore.tables,
    make: (db) => new SessionMetaStore(db),
    calls: {
      opened: (s: SessionMetaStore) =>
        s.opened({ session_uid: id(), account_id: id(), ip: '192.0.2.1', user_agent: 'x', ttlSeconds: 60 }),
      find: (s: SessionMetaStore) => s.find(id()),
      touch: (s: SessionMetaStore) => s.touch(id()),
      forAccount: (s: SessionMetaStore) => s.forAccount(id()),
    },
  },
  AdminQueries: {
    file: 'src/admin/admin-queries.ts',
    tables: AdminQueries.tables,
    make: (db) => new AdminQueries(db),
    calls: {
      loginsPerDay: (s: AdminQueries) => s.loginsPerDay(7),
      auditPage: (s: AdminQueries) => s.auditPage({}, 5),
      auditRows: (s: AdminQueries) => drain(s.auditRows({})),
      dailyActivity: (s: AdminQueries) => s.dailyActivity(7),
    },
  },
  AccountStore: {
    file: 'src/accounts/account-store.ts',
    tables: AccountStore.tables,
    make: (db) => new AccountStore(db),
    calls: {
      insert: null,
      findById: null,
      findByPhone: null,
      findByCreditCode: null,
      findByIdNumberHash: null,
      setPasswordHash: null,
      setPhone: null,
      close: (s: AccountStore) => s.close(id()),
      setStatus: null,
      setIdentity: null,
      correctIdentity: null,
      recordPasswordFailure: null,
      clearPasswordFailures: null,
    },
  },
};

/**
 * Statements outside any request: the sweeper runs on a timer, `unified-id crypto status|migrate`
 * (the tables listed in crypto-inventory) from the command line, never inside a request's batch.
 */
const OUTSIDE_REQUESTS = new Set([
  'src/db/expiring-rows.ts',
  'src/ops/crypto-inventory.ts',
  'src/ops/crypto-migration.ts',
]);

const DEFERRED = [...new Set(Object.values(STORES).flatMap((s) => s.tables.defers))];

/** Whether SQL (or source) names the table: oidc_models is also read by its two SQL functions. */
function names(text: string, table: string): boolean {
  const pattern =
    table === 'oidc_models' ? /\boidc_models\b|\boidc_tokens?_context\b/ : new RegExp(`\\b${table}\\b`);
  return pattern.test(text);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('the stores that take part in a request write batch', () => {
  it('are all enumerated here, and each declares the deferred tables it names', () => {
    expect(DEFERRED.sort()).toEqual(['audit_events', 'oidc_models', 'session_meta']);
    const registered = new Map(Object.values(STORES).map((s) => [s.file, s]));
    for (const file of sourceFiles('src')) {
      const code = withoutComments(readFileSync(file, 'utf8'));
      const named = DEFERRED.filter((table) => names(code, table));
      if (!named.length || OUTSIDE_REQUESTS.has(file)) continue;
      const store = registered.get(file);
      expect(store, `${file} names ${named.join(', ')}: register it in this test`).toBeDefined();
      const declared = [...store!.tables.reads, ...store!.tables.defers];
      for (const table of named) expect(declared, `${file} must declare ${table}`).toContain(table);
    }
  });

  it('lists every method of each store', () => {
    for (const [name, store] of Object.entries(STORES)) {
      const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store.make({} as Db))).filter(
        (m) => m !== 'constructor',
      );
      expect(Object.keys(store.calls).sort(), name).toEqual(methods.sort());
      for (const [method, call] of Object.entries(store.calls)) {
        if (call) continue;
        const source = String((store.make({} as Db) as Record<string, unknown>)[method]);
        for (const table of DEFERRED)
          expect(names(source, table), `${name}.${method} names ${table}: drive it`).toBe(false);
      }
    }
  });

  describe('with writes pending to every deferred table', () => {
    let database: Database;
    let batch: WriteBatch | undefined;
    const early: string[] = [];
    const listener = (q: { sql: string }) => {
      const pending = batch ? [...batch.pendingTables] : [];
      if (pending.some((table) => names(q.sql, table))) early.push(q.sql);
    };

    beforeAll(async () => {
      database = openEmbeddedCopy();
      await migrate(database.db);
      database.db.on('query', listener);
    });
    afterAll(async () => {
      database.db.off('query', listener);
      await database?.close();
    });

    const driven = Object.entries(STORES).flatMap(([name, store]) =>
      Object.entries(store.calls)
        .filter((entry): entry is [string, Call] => entry[1] !== null)
        .map(([method, call]) => [`${name}.${method}`, store, call] as const),
    );

    it.each(driven)('%s reads or writes them only after they went', async (_name, store, call) => {
      early.length = 0;
      await withWriteBatch(database.db, async () => {
        batch = currentWriteBatch()!;
        for (const table of DEFERRED)
          batch.defer(table, { sql: `delete from ${table} where false`, bindings: [] });
        await (call as (s: object) => unknown)(store.make(database.db));
      });
      batch = undefined;
      expect(early).toEqual([]);
    });

    it('sees what a store deferred in the same request', async () => {
      const sessionUid = id();
      const accountId = id();
      const sessions = new SessionMetaStore(database.db);
      const audit = new AuditStore(database.db);
      const admin = new AdminQueries(database.db);
      let seen: unknown[] = [];
      await withWriteBatch(database.db, async () => {
        await sessions.opened({
          session_uid: sessionUid,
          account_id: accountId,
          ip: '192.0.2.1',
          user_agent: 'x',
          ttlSeconds: 60,
        });
        await audit.append({
          occurred_at: new Date(),
          account_id: null,
          actor: accountId,
          type: 'test.pending',
          method: null,
          outcome: 'success',
          ip: null,
          user_agent: null,
          detail: {},
        });
        seen = [
          await sessions.find(sessionUid),
          (await sessions.forAccount(accountId)).length,
          (await audit.query({ type: 'test.pending', limit: 1 })).length,
          (await admin.auditPage({ actor: accountId }, 1)).length,
        ];
      });
      expect(seen).toEqual([expect.objectContaining({ session_uid: sessionUid }), 1, 1, 1]);
    });

    it('logs a flush that failed after the request failed, without the written values', async () => {
      const logged: { fields: Record<string, unknown>; message: string }[] = [];
      const log = {
        error: (fields: Record<string, unknown>, message: string) => logged.push({ fields, message }),
      };
      const failing = withWriteBatch(
        database.db,
        async () => {
          currentWriteBatch()!.defer('no_such_table', {
            sql: 'insert into no_such_table values (?)',
            bindings: ['13800138000'],
          });
          throw new Error('the request failed');
        },
        log,
      );
      await expect(failing).rejects.toThrow('the request failed');
      expect(logged).toHaveLength(1);
      expect(logged[0]!.message).toMatch(/not written/);
      expect(JSON.stringify(logged[0]!.fields)).toMatch(/no_such_table/);
      expect(JSON.stringify(logged[0]!.fields)).not.toContain('13800138000');
    });
  });
});
