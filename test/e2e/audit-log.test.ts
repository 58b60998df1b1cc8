import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/services.js';
import { readCheckpointDir } from '../../src/audit/checkpoints.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { addCitizen } from '../support/citizen.js';
import { runCli } from '../support/cli.js';
import { nodeArgsFor } from '../support/compiled-sources.js';
import { createPostgresDatabase, databaseKinds } from '../support/databases.js';
import { copyEmbeddedTemplate, runTempDir } from '../support/embedded-template.js';
import { registerRelyingParty, signIn } from '../support/relying-party.js';
import { deploymentSecrets, startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Audit-Trail#2024';

describe.each(databaseKinds())('the audit log of a running provider (%s)', (kind) => {
  let server: TestServer;
  const checkpointDir = mkdtempSync(path.join(tmpdir(), 'uid-checkpoints-'));
  // A timestamping or archive service, as AUDIT_CHECKPOINT_URL names one.
  const delivered: { type: string | undefined; body: string }[] = [];
  const archiveService = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      delivered.push({ type: req.headers['content-type'], body });
      res.writeHead(201).end();
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => archiveService.listen(0, '127.0.0.1', r));
    const { port } = archiveService.address() as AddressInfo;
    server = await startTestServer({
      kind,
      env: {
        AUDIT_CHECKPOINT_DIR: checkpointDir,
        AUDIT_CHECKPOINT_URL: `http://127.0.0.1:${port}/checkpoints`,
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    archiveService.close();
    rmSync(checkpointDir, { recursive: true, force: true });
  });

  it('signs its checkpoints with a key a relying party can fetch from /jwks', async () => {
    const { phone, id } = await addCitizen(server, PASSWORD);
    const rp = await registerRelyingParty(server, { firstParty: true });
    await signIn(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    // The sign-in is in the account's record at once, sealed or not.
    const [signedIn] = await server.services.audit.forAccount(id);
    expect(signedIn).toMatchObject({ type: 'login', outcome: 'success' });

    const checkpoint = await server.services.audit.sealer.checkpointNow();
    const files = await readCheckpointDir(checkpointDir);
    const file = files.find((f) => f.jws === checkpoint?.jws);
    expect(file).toBeDefined();
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(file!.jws, createLocalJWKSet(jwks), {
      issuer: server.issuer,
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'unified-id-audit-checkpoint+jwt' });
    const head = await server.database.db('audit_events').where({ seq: payload['seq'] }).first();
    expect(payload).toMatchObject({ id: Number(head.id), hash: head.hash });
    expect(Number(head.id)).toBeGreaterThanOrEqual(Number(signedIn!.id));
    expect(await server.services.audit.verify({ checkpoints: files })).toMatchObject({
      ok: true,
      pending: 0,
    });
    // The same checkpoint went to the archive service.
    expect(delivered).toContainEqual({ type: 'application/jose', body: checkpoint!.jws });
  });
});

describe.each(databaseKinds())('unified-id audit verify against AUDIT_CHECKPOINT_DIR (%s)', (kind) => {
  const dataDir = copyEmbeddedTemplate();
  const checkpointDir = path.join(dataDir, 'checkpoints');
  let postgres: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runCli(args, env);
  const failing = (...args: string[]) =>
    cli(...args).then(
      () => {
        throw new Error(`unified-id ${args.join(' ')} succeeded`);
      },
      (err: { code: number; stdout: string }) => err,
    );

  beforeAll(async () => {
    postgres = kind === 'postgres' ? await createPostgresDatabase() : undefined;
    env = {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      AUDIT_CHECKPOINT_DIR: checkpointDir,
      ...(postgres ? { DATABASE_URL: postgres.url, ...deploymentSecrets() } : {}),
    };
  });
  afterAll(async () => {
    await postgres?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The deployment's services in this process, as the CLI opens them, for what needs no command. */
  async function withDeployment(work: (services: Services, db: Knex) => Promise<void>) {
    const database = openDatabase({ databaseUrl: postgres?.url, dataDir });
    try {
      await migrate(database.db);
      await work(createServices(loadConfig(env), database.db, pino({ level: 'silent' })), database.db);
    } finally {
      await database.close();
    }
  }
  const event = (services: Services, i: number) =>
    services.audit.record({ type: 'admin.client_created', actor: 'cli', outcome: 'success', detail: { i } });

  it('catches the newest rows cut off with the head and their checkpoint rows, and says what it held the end against', async () => {
    await withDeployment(async (services) => {
      for (let i = 0; i < 3; i++) await event(services, i);
    });
    expect(JSON.parse((await cli('audit', 'checkpoint', '--json')).stdout)).toMatchObject({ seq: 3 });
    await withDeployment(async (services) => {
      await event(services, 3);
      await services.audit.sealer.checkpointNow();
    });
    // No --checkpoints: AUDIT_CHECKPOINT_DIR is where the end is held.
    const ok = JSON.parse((await cli('audit', 'verify', '--json')).stdout);
    expect(ok).toMatchObject({ ok: true, rows: 4, pending: 0, outsideEnd: { seq: 4, rowsAfter: 0 } });
    expect(ok.endOfChain).toMatch(
      new RegExp(`^held against an outside checkpoint: 0+4-\\d+\\.jws .*the newest in ${checkpointDir}`),
    );

    // Someone with the database's password removes the newest row, puts the head back and
    // removes the checkpoint rows that named it: the database itself now agrees with itself.
    await withDeployment(async (services, db) => {
      const [newest, previous] = await db('audit_events').orderBy('seq', 'desc').limit(2);
      await db('audit_events').where({ id: newest.id }).delete();
      await db('audit_checkpoints').where('seq', '>', previous.seq).delete();
      await db('audit_head').update({
        sealed_seq: previous.seq,
        sealed_hash: previous.hash,
        sealed_id: previous.id,
        checkpoint_seq: previous.seq,
      });
      // The chain alone can not tell.
      expect(await services.audit.verify()).toMatchObject({ ok: true, rows: 3 });
    });
    // Without an outside checkpoint the command passes, and says in words that it held nothing.
    const { AUDIT_CHECKPOINT_DIR: _dir, ...unwitnessed } = env;
    const blind = await runCli(['audit', 'verify'], unwitnessed);
    expect(blind.stdout).toContain('ok: true');
    expect(blind.stdout).toContain('endOfChain: NOT held against an outside checkpoint');
    // With AUDIT_CHECKPOINT_DIR the cut is found, in words as in the exit code.
    const caught = await failing('audit', 'verify');
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain('ok: false');
    expect(caught.stdout).toMatch(
      /endOfChain: CUT OFF: the newest outside checkpoint 0+4-\d+\.jws \(chain position 4, signed .*\) is past the database's end at chain position 3/,
    );
    await withDeployment(async (services) => {
      expect(
        await services.audit.verify({ checkpoints: await readCheckpointDir(checkpointDir) }),
      ).toMatchObject({
        ok: false,
        reason: expect.stringContaining('the newest rows were deleted'),
        cutOff: { seq: 4, headSeq: 3 },
      });
    });
  });
});

/** A provider process's audit side (test/support/audit-writer.ts), in a process of its own. */
function startWriter(env: NodeJS.ProcessEnv): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, nodeArgsFor('test/support/audit-writer.ts'), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(
  child: ChildProcessByStdio<null, Readable, Readable>,
): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

/** Polls until `condition` holds; the bound is generous, only there so a failure ends. */
async function until(condition: () => Promise<boolean>, what: string, seconds = 30) {
  const end = Date.now() + seconds * 1000;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!process.env['TEST_DATABASE_URL'])(
  'provider processes sharing the audit log on PostgreSQL',
  () => {
    let postgres: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let env: NodeJS.ProcessEnv;
    let database: ReturnType<typeof openDatabase>;
    const dataDir = runTempDir('uid-audit-procs-');
    const db = () => database.db;
    const count = async (where: (q: Knex.QueryBuilder) => void = () => {}) => {
      const q = db()('audit_events');
      where(q);
      return Number((await q.count({ n: '*' }).first())!.n);
    };
    const sealedCount = () => count((q) => q.whereNotNull('seq'));
    /** Every row sealed, in one chain with no gap and no place used twice. */
    const oneUnbrokenChain = async () => {
      const rows = await count();
      expect(await count((q) => q.whereNull('seq'))).toBe(0);
      const seqs = await db()('audit_events').orderBy('seq').pluck('seq');
      expect(seqs.map(Number)).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
      const verdict = JSON.parse((await runCli(['audit', 'verify', '--json'], env)).stdout);
      expect(verdict).toEqual({
        ok: true,
        endOfChain: expect.stringContaining('NOT held against an outside checkpoint'),
        rows,
        pending: 0,
      });
    };

    beforeAll(async () => {
      postgres = await createPostgresDatabase();
      env = {
        ...process.env,
        DATABASE_URL: postgres.url,
        DATA_DIR: dataDir,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ...deploymentSecrets(),
      };
      database = openDatabase({ databaseUrl: postgres.url, dataDir, poolMax: 2 });
    });
    afterAll(async () => {
      await database?.close();
      await postgres?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('keeps one unbroken chain when two processes append and seal at the same time', async () => {
      const runs = [1, 2].map(() =>
        exited(startWriter({ ...env, AUDIT_EVENTS: '400', AUDIT_WRITERS: '10' })),
      );
      const results = await Promise.all(runs);
      expect(results.map((r) => r.code)).toEqual([0, 0]);
      expect(await count()).toBe(800);
      await oneUnbrokenChain();
    });

    it('hands sealing to another process when the sealing one is killed, losing nothing', async () => {
      await db()('audit_events').delete();
      await db()('audit_head').update({ sealed_seq: 0, sealed_hash: 'genesis', sealed_id: 0 });
      const first = startWriter({ ...env, AUDIT_EVENTS: '0', AUDIT_WRITERS: '6' });
      const firstExit = exited(first);
      // Alone, the first process is the one that seals.
      await until(async () => (await sealedCount()) >= 300, 'the first process seals');
      const second = startWriter({ ...env, AUDIT_EVENTS: '0', AUDIT_WRITERS: '6' });
      const secondExit = exited(second);
      const before = await count();
      await until(async () => (await count()) > before + 200, 'the second process appends');

      first.kill('SIGKILL');
      expect((await firstExit).code).toBeNull();
      const lastOfTheDead = (await db()('audit_events').max({ max: 'id' }).first())!.max;
      // Rows appended after the kill are chained by the survivor, while it keeps running.
      await until(
        async () =>
          (await count((q) => q.where('id', '>', Number(lastOfTheDead) + 200).whereNotNull('seq'))) > 0,
        'the surviving process takes over sealing',
      );
      second.kill('SIGTERM');
      expect((await secondExit).code).toBe(0);
      await oneUnbrokenChain();
    });
  },
);
