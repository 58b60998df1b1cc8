/**
 * `npm run bench -- audit`: audit appends per second through AuditService (plain inserts that
 * the sealer chains, the sealer running in this process as it does in every provider process)
 * against plain inserts of the same rows into a copy of the table, at 32, 90 and 180
 * concurrent writers, each on its own connection; then `audit verify`'s walk in rows per
 * second. PostgreSQL only (DATABASE_URL, a throw-away database): the embedded database has one
 * connection and one process, so it has nothing to say about writers contending.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { AuditService } from '../src/audit/audit-service.js';
import { AuditStore } from '../src/audit/audit-store.js';
import { DataProtector } from '../src/crypto/sealed.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { KeyService } from '../src/oidc/keys/key-service.js';
import { KeyStore } from '../src/oidc/keys/key-store.js';

const WRITERS = (process.env['BENCH_AUDIT_WRITERS'] ?? '32,90,180').split(',').map(Number);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 2);
const progress = (message: string) => process.stderr.write(`[bench audit] ${message}\n`);

/** What a sign-in writes: a masked, typical row. */
const event = (i: number) => ({
  type: 'login' as const,
  method: 'password' as const,
  outcome: i % 7 ? ('success' as const) : ('failure' as const),
  accountId: `0f8e4c1a-${String(i % 100_000).padStart(8, '0')}`,
  ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36',
  detail: { clientId: 'rp_city_0001', acr: 'urn:unified-id:acr:basic' },
});

/** `writers` loops, each awaiting its own append, for the window after a warm-up; appends per second. */
async function drive(writers: number, append: (i: number) => Promise<void>): Promise<number> {
  let counting = false;
  let stop = false;
  let counted = 0;
  let next = 0;
  const loops = Array.from({ length: writers }, async () => {
    while (!stop) {
      await append(next++);
      if (counting) counted += 1;
    }
  });
  await sleep(WARMUP_SECONDS * 1000);
  counting = true;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  return counted / elapsed;
}

async function pendingRows(database: Database): Promise<number> {
  return Number((await database.db('audit_events').whereNull('seq').count({ n: '*' }).first())!.n);
}

export async function runAuditBench() {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('npm run bench -- audit needs DATABASE_URL (a throw-away PostgreSQL database)');
  const largest = Math.max(...WRITERS);
  // One connection per writer, and the sealer's own.
  const database = openDatabase({ databaseUrl: url, dataDir: os.tmpdir(), poolMax: largest + 2 });
  const db = database.db;
  try {
    await migrate(db);
    await db.raw('drop table if exists audit_events_plain');
    await db.raw('create table audit_events_plain (like audit_events including all)');
    const keys = new KeyService(new KeyStore(db), new DataProtector(randomBytes(32)));
    await keys.ensureKeys().catch(() => {
      // Keys sealed with another DATA_ENCRYPTION_KEY: checkpoints are skipped, sealing is measured.
    });
    const audit = new AuditService(new AuditStore(db), {
      keys,
      issuer: 'https://bench.invalid',
      dir: undefined,
      url: undefined,
      log: pino({ level: 'silent' }),
    });
    // Warm the pool up to the largest number of writers, so no run pays for connecting.
    await Promise.all(Array.from({ length: largest + 2 }, () => db.raw('select 1')));

    const rows: { writers: number; plain: number; chained: number; lag: number; drained: number }[] = [];
    const plainRun = (writers: number) => {
      progress(`${writers} writers: plain inserts into a copy of audit_events`);
      return drive(writers, async (i) => {
        const e = event(i);
        await db('audit_events_plain').insert({
          occurred_at: new Date(),
          account_id: e.accountId,
          actor: 'user',
          type: e.type,
          method: e.method,
          outcome: e.outcome,
          ip: e.ip,
          user_agent: e.userAgent,
          detail: JSON.stringify(e.detail),
        });
      });
    };
    const chainedRun = async (writers: number) => {
      progress(`${writers} writers: AuditService.record, the sealer running`);
      audit.sealer.start();
      const perSecond = await drive(writers, async (i) => {
        await audit.record(event(i));
      });
      const lag = await pendingRows(database);
      const drainStart = performance.now();
      await audit.sealer.stop();
      return { perSecond, lag, drained: (performance.now() - drainStart) / 1000 };
    };
    for (const writers of WRITERS) {
      // Plain, chained, chained, plain: a machine that speeds up or slows down during the
      // four runs weighs on both sides alike.
      const plainA = await plainRun(writers);
      const chainedA = await chainedRun(writers);
      const chainedB = await chainedRun(writers);
      const plainB = await plainRun(writers);
      rows.push({
        writers,
        plain: (plainA + plainB) / 2,
        chained: (chainedA.perSecond + chainedB.perSecond) / 2,
        lag: Math.max(chainedA.lag, chainedB.lag),
        drained: Math.max(chainedA.drained, chainedB.drained),
      });
    }

    progress('audit verify over the whole chain');
    const started = performance.now();
    const verdict = await audit.verify();
    const verifySeconds = (performance.now() - started) / 1000;
    if (!verdict.ok) throw new Error(`the chain does not verify: ${verdict.reason}`);
    await db.raw('drop table audit_events_plain');

    const n = (v: number) => Math.round(v).toLocaleString('en-US');
    const lines = [
      `PostgreSQL ${(await db.raw('show server_version')).rows[0].server_version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg()[0]!.toFixed(1)} at the end; each figure the mean of two ${SECONDS} s runs (plain, chained, chained, plain) after ${WARMUP_SECONDS} s warm-up, one connection per writer`,
      '',
      '| writers | plain inserts/s | chained appends/s | chained ÷ plain | most pending at the end of a run | sealer caught up after |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.writers} | ${n(r.plain)} | ${n(r.chained)} | ${(r.chained / r.plain).toFixed(2)} | ${n(r.lag)} | ${r.drained.toFixed(2)} s |`,
      ),
      '',
      `audit verify: ${n(verdict.rows)} rows in ${verifySeconds.toFixed(1)} s = **${n(verdict.rows / verifySeconds)} rows/s**`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
  }
}
