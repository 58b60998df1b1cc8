import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { AuditService } from './audit-service.js';
import { AuditStore } from './audit-store.js';

let database: Database;
let audit: AuditService;

beforeAll(async () => {
  database = openDatabase({ dataDir: mkdtempSync(path.join(tmpdir(), 'uid-audit-')), memory: true });
  await migrate(database.db);
  audit = new AuditService(new AuditStore(database.db));
});
afterAll(() => database?.close());

describe('the hash-chained audit log', () => {
  it('verifies an untouched chain, and finds an altered row and a deleted one', async () => {
    for (let i = 0; i < 6; i++) {
      await audit.record({
        type: 'login',
        method: 'password',
        outcome: i % 2 ? 'failure' : 'success',
        accountId: `account-${i}`,
        ip: '10.0.0.1',
        detail: { b: i, a: { z: 1, y: [2, 3] } },
      });
    }
    expect(await audit.verify()).toEqual({ ok: true, rows: 6 });

    const rows = await database.db('audit_events').orderBy('id');
    await database.db('audit_events').where({ id: rows[1].id }).update({ outcome: 'success' });
    const altered = await audit.verify();
    expect(altered).toMatchObject({
      ok: false,
      brokenAt: Number(rows[1].id),
      reason: 'its content was altered',
    });

    await database.db('audit_events').where({ id: rows[1].id }).update({ outcome: 'failure' });
    expect((await audit.verify()).ok).toBe(true);
    await database.db('audit_events').where({ id: rows[4].id }).delete();
    expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: Number(rows[5].id) });
  });

  it('finds the newest rows deleted, which no later row names', async () => {
    await database.db('audit_events').delete();
    await database.db('audit_head').update({ prev_hash: 'genesis', hash: 'genesis' });
    for (let i = 0; i < 3; i++) await audit.record({ type: 'login', outcome: 'success' });
    expect(await audit.verify()).toEqual({ ok: true, rows: 3 });
    const [newest] = await database.db('audit_events').orderBy('id', 'desc').limit(1);
    await database.db('audit_events').where({ id: newest.id }).delete();
    expect(await audit.verify()).toMatchObject({ ok: false, reason: 'the newest rows were deleted' });
  });

  it('keeps one unbroken chain when many events are recorded at once', async () => {
    await database.db('audit_events').delete();
    await database.db('audit_head').update({ prev_hash: 'genesis', hash: 'genesis' });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        audit.record({ type: 'login', outcome: 'success', detail: { i, 名: '张*' } }),
      ),
    );
    expect(await audit.verify()).toEqual({ ok: true, rows: 40 });
  });

  it('keeps each account its own record of the last 90 days', async () => {
    await audit.record({ type: 'login', outcome: 'success', accountId: 'person-x' });
    await database.db('audit_events').insert({
      occurred_at: new Date(Date.now() - 91 * 86_400_000),
      account_id: 'person-x',
      actor: 'user',
      type: 'login',
      outcome: 'success',
      detail: '{}',
      prev_hash: 'x',
      hash: 'y',
    });
    const events = await audit.forAccount('person-x');
    expect(events).toHaveLength(1);
  });
});
