import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase, databaseKinds } from '../../test/support/databases.js';
import { openEmbeddedCopy, runTempDir } from '../../test/support/embedded-template.js';
import { DataProtector } from '../crypto/sealed.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { KeyService } from '../oidc/keys/key-service.js';
import { KeyStore } from '../oidc/keys/key-store.js';
import { AuditService } from './audit-service.js';
import { AuditStore } from './audit-store.js';
import { readCheckpointDir } from './checkpoints.js';

const ISSUER = 'https://id.example.gov.cn';

describe.each(databaseKinds())('the hash-chained audit log (%s)', (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;
  let audit: AuditService;
  let checkpointDir: string;

  const db = () => database.db;
  const login = (i: number) =>
    audit.record({
      type: 'login',
      method: 'password',
      outcome: i % 2 ? 'failure' : 'success',
      accountId: `account-${i}`,
      ip: '10.0.0.1',
      detail: { b: i, a: { z: 1, y: [2, 3] }, 名: '张*' },
    });
  const sealed = () => db()('audit_events').whereNotNull('seq').orderBy('seq');
  const witnessed = () => readCheckpointDir(checkpointDir);

  beforeAll(async () => {
    const dataDir = runTempDir('uid-audit-');
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      drop = pg.drop;
      database = openDatabase({ databaseUrl: pg.url, dataDir, poolMax: 4 });
    } else {
      database = openEmbeddedCopy(dataDir);
    }
    await migrate(database.db);
    const keys = new KeyService(new KeyStore(database.db), new DataProtector(randomBytes(32)));
    await keys.ensureKeys();
    checkpointDir = path.join(dataDir, 'checkpoints');
    audit = new AuditService(
      new AuditStore(database.db),
      {
        keys,
        issuer: ISSUER,
        dir: checkpointDir,
        url: undefined,
        log: pino({ level: 'silent' }),
      },
      process.env['CRYPTO_PROFILE'] === 'gm' ? 'sm3' : 'sha256',
    );
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });
  beforeEach(async () => {
    rmSync(checkpointDir, { recursive: true, force: true });
    await db()('audit_events').delete();
    await db()('audit_checkpoints').delete();
    await db()('audit_head').update({
      sealed_seq: 0,
      sealed_hash: 'genesis',
      sealed_id: 0,
      base_seq: 0,
      base_hash: 'genesis',
      base_checkpoint: null,
      checkpoint_at: null,
      checkpoint_seq: 0,
    });
  });

  it('shows events at once, reports them pending until sealed, then verifies the chain', async () => {
    for (let i = 0; i < 6; i++) await login(i);
    // 登录记录 shows a sign-in before the sealer has chained it.
    expect(await audit.forAccount('account-2')).toHaveLength(1);
    expect(await audit.verify()).toEqual({ ok: true, rows: 0, pending: 6 });
    expect(await audit.sealer.sealAll()).toBe(6);
    expect(await audit.verify()).toEqual({ ok: true, rows: 6, pending: 0 });
  });

  it('verifies a chain whose profile changed part way, each row by the hash it names, and finds an altered SM3 row', async () => {
    const sealers = (['sha256', 'sm3', 'sha256'] as const).map(
      (algorithm) => new AuditService(new AuditStore(database.db), undefined, algorithm),
    );
    for (const [n, sealer] of sealers.entries()) {
      for (let i = 0; i < 3; i++) await login(n * 3 + i);
      await sealer.sealer.sealAll();
    }
    const rows = await sealed();
    expect(rows.map((r: { hash: string }) => r.hash.startsWith('sm3:'))).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(rows[3].hash).toMatch(/^sm3:[0-9a-f]{64}$/);
    expect(await audit.verify()).toEqual({ ok: true, rows: 9, pending: 0 });

    await db()('audit_events').where({ id: rows[4].id }).update({ ip: '10.9.9.9' });
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: Number(rows[4].id),
      reason: 'its content was altered',
    });
    await db()('audit_events').where({ id: rows[4].id }).update({ ip: '10.0.0.1' });
    // Relabelling an SM3 link as SHA-256 (the same hex without its name) breaks it, too.
    await db()('audit_events')
      .where({ id: rows[4].id })
      .update({ hash: rows[4].hash.slice(4) });
    expect((await audit.verify()).ok).toBe(false);
  });

  it('finds an altered row and a deleted one, as before', async () => {
    for (let i = 0; i < 6; i++) await login(i);
    await audit.sealer.sealAll();
    const rows = await sealed();
    await db()('audit_events').where({ id: rows[1].id }).update({ outcome: 'success' });
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: Number(rows[1].id),
      reason: 'its content was altered',
    });
    await db()('audit_events').where({ id: rows[1].id }).update({ outcome: 'failure' });
    expect((await audit.verify()).ok).toBe(true);

    // Made "pending" again so that the sealer would take it: the chain around it no longer links.
    await db()('audit_events').where({ id: rows[3].id }).update({ seq: null });
    expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: Number(rows[4].id) });
    await db()('audit_events').where({ id: rows[3].id }).update({ seq: rows[3].seq });

    await db()('audit_events').where({ id: rows[4].id }).delete();
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: Number(rows[5].id),
      reason: 'a row before it is missing or was altered',
    });
  });

  it.each([
    ['account_id', 'account-99'],
    ['actor', 'someone-else'],
    ['type', 'logout'],
    ['method', 'sms'],
    ['ip', '10.9.9.9'],
    ['user_agent', 'changed'],
    ['occurred_at', new Date('2020-01-01T00:00:00Z')],
    ['detail', JSON.stringify({ b: 1 })],
  ] as const)('finds a row whose %s was changed', async (column, value) => {
    for (let i = 0; i < 3; i++) await login(i);
    await audit.sealer.sealAll();
    const rows = await sealed();
    const target = rows.at(-2);
    await db()('audit_events')
      .where({ id: target.id })
      .update({ [column]: value });
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: Number(target.id),
      reason: 'its content was altered',
    });
    // Put back, the chain holds again: it was that column, not the test, that broke it.
    await db()('audit_events')
      .where({ id: target.id })
      .update({ [column]: target[column] });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('finds the newest rows deleted, which no later row names', async () => {
    for (let i = 0; i < 3; i++) await login(i);
    await audit.sealer.sealAll();
    const [newest] = await db()('audit_events').orderBy('seq', 'desc').limit(1);
    await db()('audit_events').where({ id: newest.id }).delete();
    expect(await audit.verify()).toMatchObject({ ok: false, reason: 'the newest rows were deleted' });
  });

  it('catches, with the checkpoints kept outside, the newest rows deleted and the head reset', async () => {
    for (let i = 0; i < 5; i++) await login(i);
    const checkpoint = await audit.sealer.checkpointNow();
    expect(checkpoint).toMatchObject({ seq: 5 });
    for (let i = 5; i < 8; i++) await login(i);
    const last = await audit.sealer.checkpointNow();
    const files = await witnessed();
    expect(await audit.verify({ checkpoints: files })).toEqual({
      ok: true,
      // The newest file vouches for the end: row 8.
      outsideEnd: {
        file: files.at(-1)!.file,
        seq: 8,
        id: last!.id,
        rowsAfter: 0,
        signedAt: expect.any(String),
      },
      rows: 8,
      pending: 0,
      checkpoints: files.length,
    });

    // Someone with write access removes the last three rows and puts the head back on row 5.
    const rows = await sealed();
    await db()('audit_events')
      .whereIn(
        'id',
        rows.slice(5).map((r) => r.id),
      )
      .delete();
    await db()('audit_head').update({
      sealed_seq: rows[4].seq,
      sealed_hash: rows[4].hash,
      sealed_id: rows[4].id,
    });
    // The chain alone can not tell …
    expect(await audit.verify()).toEqual({ ok: true, rows: 5, pending: 0 });
    // … the checkpoint signed after row 8 can.
    expect(await audit.verify({ checkpoints: await witnessed() })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('past the head: the newest rows were deleted'),
      cutOff: { seq: 8, headSeq: 5 },
    });
  });

  it('catches, with the checkpoints, a row deleted and the chain after it computed again', async () => {
    for (let i = 0; i < 6; i++) await login(i);
    await audit.sealer.checkpointNow();
    const rows = await sealed();
    // Row 3 goes; rows 4–6 take its place with links recomputed by the same public recipe.
    await db()('audit_events').where({ id: rows[2].id }).delete();
    await db()('audit_events')
      .whereIn(
        'id',
        rows.slice(3).map((r) => r.id),
      )
      .update({ seq: null, prev_hash: null, hash: null });
    await db()('audit_head').update({
      sealed_seq: rows[1].seq,
      sealed_hash: rows[1].hash,
      sealed_id: rows[1].id,
    });
    await audit.sealer.sealAll();
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 5 });
    expect(await audit.verify({ checkpoints: await witnessed() })).toMatchObject({ ok: false });
  });

  it('refuses a checkpoint file that this provider did not sign', async () => {
    for (let i = 0; i < 2; i++) await login(i);
    await audit.sealer.checkpointNow();
    const [file] = await witnessed();
    const forged = `${file!.jws.slice(0, -4)}AAAA`;
    expect(await audit.verify({ checkpoints: [{ file: 'forged.jws', jws: forged }] })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('checkpoint forged.jws: not a checkpoint signed by this provider'),
    });
  });

  it('keeps one unbroken chain when many events are recorded while the sealer runs', async () => {
    audit.sealer.start(5);
    try {
      await Promise.all(Array.from({ length: 60 }, (_, i) => login(i)));
    } finally {
      await audit.sealer.stop();
    }
    expect(await audit.verify()).toEqual({ ok: true, rows: 60, pending: 0 });
    const seqs = (await sealed()).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it.skipIf(kind === 'pglite')(
    'chains a row whose transaction commits late after the rows sealed meanwhile',
    async () => {
      await login(0);
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let inserted: () => void = () => {};
      const taken = new Promise<void>((r) => {
        inserted = r;
      });
      // An insert whose id is taken now but which commits only after later rows were sealed.
      const late = db().transaction(async (trx) => {
        await trx('audit_events').insert({
          occurred_at: new Date(),
          actor: 'user',
          type: 'late',
          outcome: 'info',
        });
        inserted();
        await held;
      });
      await taken;
      await login(1);
      await audit.sealer.sealAll();
      release();
      await late;
      await audit.sealer.sealAll();
      const rows = await sealed();
      expect(rows.map((r) => r.type)).toEqual(['login', 'login', 'late']);
      expect(await audit.verify()).toEqual({ ok: true, rows: 3, pending: 0 });
    },
  );

  it('exports the chain in its order, sealed through the last row', async () => {
    for (let i = 0; i < 4; i++) await login(i);
    const snapshot = await audit.snapshot();
    const lines = [];
    for await (const row of snapshot.rows) lines.push(row);
    expect(lines.map((l) => l.prev_hash)).toEqual(['genesis', ...lines.slice(0, -1).map((l) => l.hash)]);
    expect(snapshot.lastId).toBe(lines.at(-1)!.id);
  });

  it('archives rows older than the retention period, and the kept chain still verifies', async () => {
    for (let i = 0; i < 4; i++) await login(i);
    await audit.sealer.checkpointNow();
    for (let i = 4; i < 6; i++) await login(i);
    await audit.sealer.checkpointNow();
    const archiveDir = path.join(checkpointDir, '..', `archive-${kind}`);
    // Nothing is 180 days old yet.
    expect(await audit.archive(archiveDir, 180)).toMatchObject({ file: undefined, rows: 0 });

    // 181 days later: everything up to the newest checkpoint signed before the cut-off goes.
    const later = new Date(Date.now() + 181 * 86_400_000);
    const archived = await audit.archive(archiveDir, 180, later);
    expect(archived).toMatchObject({ rows: 6, archivedThrough: 6 });
    const lines = readFileSync(archived.file!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ start: { seq: 0, hash: 'genesis' } });
    expect(lines.at(-1)).toMatchObject({ seq: 6, checkpoint: expect.any(String) });
    expect(lines.filter((l) => l.hash && l.type)).toHaveLength(6);
    expect(await db()('audit_events').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await db()('audit_events').count({ n: '*' }).first())!.n)).toBe(0);

    for (let i = 6; i < 9; i++) await login(i);
    await audit.sealer.sealAll();
    // The kept chain starts from the archived checkpoint's hash; the old checkpoint files are archived.
    expect(await audit.verify({ checkpoints: await witnessed() })).toEqual({
      ok: true,
      // The archive's checkpoint is the newest outside; the three rows after it wait for the next.
      outsideEnd: expect.objectContaining({ seq: 6, rowsAfter: 3 }),
      rows: 3,
      pending: 0,
      checkpoints: 1,
      archivedThrough: 6,
    });
    expect(readdirSync(archiveDir)).toHaveLength(1);

    // The archive file re-checked on its own, as an auditor would: it holds, and each kind of
    // edit is caught at its line.
    expect(await audit.verifyArchive(archived.file!)).toEqual({
      ok: true,
      rows: 6,
      checkpoints: 1,
      fromSeq: 0,
      throughSeq: 6,
    });
    const original = readFileSync(archived.file!, 'utf8').trim().split('\n');
    const edited = path.join(archiveDir, '..', `edited-${kind}`);
    mkdirSync(edited, { recursive: true });
    const check = async (lines: string[], name = path.basename(archived.file!)) => {
      writeFileSync(path.join(edited, name), `${lines.join('\n')}\n`);
      return audit.verifyArchive(path.join(edited, name));
    };
    const altered = JSON.parse(original[3]!);
    altered.ip = '203.0.113.9';
    expect(await check(original.with(3, JSON.stringify(altered)))).toMatchObject({
      ok: false,
      line: 4,
      reason: expect.stringContaining('content was altered'),
    });
    expect(await check(original.toSpliced(3, 1))).toMatchObject({ ok: false, line: 4 });
    // The signed end cut off, or a row added after it.
    expect(await check(original.slice(0, -1))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not end'),
    });
    expect(await check([...original, original[6]!])).toMatchObject({ ok: false, line: 9 });
    // A checkpoint line re-signed by someone else.
    const forged = JSON.parse(original.at(-1)!);
    forged.checkpoint = `${forged.checkpoint.slice(0, -4)}AAAA`;
    expect(await check(original.with(-1, JSON.stringify(forged)))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a checkpoint signed by this provider'),
    });
    // A shorter archive still chains, but no longer reaches the positions its name says.
    expect(await check(original, 'audit-1-9.ndjson')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('its name says 1–9'),
    });

    // A start moved forward without a signed checkpoint for it is not taken on trust.
    const rows = await sealed();
    await db()('audit_events').where({ id: rows[0].id }).delete();
    await db()('audit_head').update({ base_seq: rows[0].seq, base_hash: rows[0].hash });
    expect(await audit.verify()).toMatchObject({ ok: false });
  });
});
