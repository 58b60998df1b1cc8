import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../test/support/server.js';
import { summariseCpuProfile } from './cpu-profile.js';
import { type DatabaseCpuProbe, type LoadResult, runLoad, type Scenario } from './load.js';
import { profileQueries } from './query-profile.js';
import {
  type DatabaseKind,
  type Machine,
  type Memory,
  renderQueries,
  renderRun,
  writeSections,
} from './report.js';
import { cpuSeconds, memoryMiB, startServerProcess } from './server-process.js';
import {
  basicAuth,
  citizenAccessToken,
  clientCredentialsToken,
  discoverEndpoints,
  type Fixtures,
  prepareFixtures,
  removeClients,
} from './setup.js';

const RESULTS_FILE = new URL('./RESULTS.md', import.meta.url);

function numberSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name} must be a number from ${min} to ${max}`);
  return n;
}

const settings = {
  seconds: numberSetting('BENCH_SECONDS', 10, 1, 120),
  warmupSeconds: numberSetting('BENCH_WARMUP_SECONDS', 2, 0, 30),
  connections: numberSetting('BENCH_CONNECTIONS', 32, 1, 512),
  machineClients: numberSetting('BENCH_CLIENTS', 64, 1, 1000),
  write: process.argv.includes('--write') || process.env['BENCH_WRITE'] === '1',
  /** Only these scenarios (comma-separated names, e.g. `userinfo`); a partial run is never written. */
  only: (process.env['BENCH_SCENARIOS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  /** Run the server under `node --cpu-prof` and print where its CPU went. */
  cpuProfile: process.env['BENCH_CPU_PROFILE'] === '1',
  nodeEnv: process.env['BENCH_NODE_ENV'] === 'production' ? 'production' : 'test',
  databaseUrl: process.env['DATABASE_URL'] || undefined,
};

/** Not secret: bench-only values, the same on every run. */
const benchSecret = (purpose: string) => createHash('sha256').update(`unified-id bench ${purpose}`).digest();

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function pgliteVersion(): string {
  try {
    const pkg = new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url);
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The commit measured, read-only git (rev-parse, diff-index); "unknown" without git. */
function revision(): string {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    try {
      execFileSync('git', ['diff-index', '--quiet', 'HEAD', '--', 'src', 'migrations'], {
        cwd,
        stdio: 'ignore',
      });
      return commit;
    } catch {
      return `${commit} with uncommitted changes in src/ or migrations/`;
    }
  } catch {
    return 'unknown';
  }
}

const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]', ''];

/**
 * The database side of the CPU bill on PostgreSQL: the backends serving the provider
 * (application_name unified-id), read from /proc when the cluster runs on this machine.
 */
async function postgresProbe(
  databaseUrl: string,
): Promise<{ version: string; probe: DatabaseCpuProbe | undefined; end(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'unified-id-bench' });
  await client.connect();
  const show = async (name: string) =>
    (await client.query<Record<string, string>>(`show ${name}`)).rows[0]?.[name] ?? '?';
  const host = new URL(databaseUrl).hostname;
  // One after the other: one client runs one query at a time.
  const parameters: string[] = [];
  for (const n of ['shared_buffers', 'synchronous_commit', 'fsync', 'max_connections'])
    parameters.push(`${n}=${await show(n)}`);
  const version = `${await show('server_version')} at ${host || 'a local socket'} (${parameters.join(', ')})`;
  const probe: DatabaseCpuProbe | undefined = LOCAL_HOSTS.includes(host)
    ? async () => {
        const { rows } = await client.query<{ pid: number }>(
          "select pid from pg_stat_activity where application_name = 'unified-id'",
        );
        const cpu = new Map<number, number>();
        for (const { pid } of rows) {
          const seconds = cpuSeconds(pid);
          if (seconds !== undefined) cpu.set(pid, seconds);
        }
        return cpu;
      }
    : undefined;
  return { version, probe, end: () => client.end() };
}

function scenarios(
  fixtures: Fixtures,
  endpoints: Awaited<ReturnType<typeof discoverEndpoints>>['endpoints'],
  tokens: {
    userinfo: string;
    introspection: { auth: string; token: string }[];
  },
): Scenario[] {
  const form = 'application/x-www-form-urlencoded';
  return [
    {
      name: 'client credentials',
      requests: fixtures.machines.map((m) => ({
        method: 'POST',
        path: endpoints.token,
        headers: { authorization: basicAuth(m), 'content-type': form },
        body: 'grant_type=client_credentials',
      })),
      expect: (body) => body.includes('"access_token"'),
    },
    {
      name: 'introspection',
      requests: tokens.introspection.map((t) => ({
        method: 'POST',
        path: endpoints.introspection,
        headers: { authorization: t.auth, 'content-type': form },
        body: `token=${encodeURIComponent(t.token)}`,
      })),
      expect: (body) => body.includes('"active":true'),
    },
    {
      name: 'userinfo',
      requests: [
        { method: 'GET', path: endpoints.userinfo, headers: { authorization: `Bearer ${tokens.userinfo}` } },
      ],
      expect: (body) => body.includes('"sub"'),
    },
    {
      name: 'jwks',
      requests: [{ method: 'GET', path: endpoints.jwks, headers: {} }],
      expect: (body) => body.includes('"keys"'),
    },
  ];
}

async function main() {
  const kind: DatabaseKind = settings.databaseUrl ? 'postgres' : 'pglite';
  if (settings.databaseUrl) {
    progress(
      'PostgreSQL: the bench adds clients, a citizen and tokens to this database; use a throw-away one',
    );
  }

  progress('counting database statements per request (in-process, in-memory PGlite)');
  const queries = await profileQueries();

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'uid-bench-'));
  const port = await freePort();
  // `test`, as the test suite runs it: production demands every outside service (SMS gateway,
  // identity verifier…) to be configured. BENCH_NODE_ENV=production benches a production
  // configuration; then the bench's own environment (those settings) is passed to the server.
  const serverEnv = settings.nodeEnv;
  const inherited =
    serverEnv === 'production'
      ? Object.fromEntries(
          Object.entries(process.env).filter(
            (e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('npm_'),
          ),
        )
      : {};
  const env: Record<string, string> = {
    ...inherited,
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? workDir,
    TMPDIR: os.tmpdir(),
    NODE_ENV: serverEnv,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://localhost:${port}`,
    DATA_DIR: path.join(workDir, 'data'),
    LOG_LEVEL: 'warn',
    DEMO_CLIENT: 'false',
    SHUTDOWN_GRACE_SECONDS: '2',
    // Fixed, so a PostgreSQL database keeps working across runs (its signing keys are sealed with
    // this key); the deployment's own secrets are used instead when they are set.
    COOKIE_KEYS: process.env['COOKIE_KEYS'] || benchSecret('cookie keys').toString('base64url'),
    DATA_ENCRYPTION_KEY:
      process.env['DATA_ENCRYPTION_KEY'] || benchSecret('data encryption key').toString('base64'),
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    ...(settings.databaseUrl ? { DATABASE_POOL_MAX: process.env['DATABASE_POOL_MAX'] || '10' } : {}),
  };

  let fixtures: Fixtures | undefined;
  let server: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  let postgres: Awaited<ReturnType<typeof postgresProbe>> | undefined;
  try {
    progress(`preparing ${settings.machineClients} machine clients, a site and a citizen (${kind})`);
    fixtures = await prepareFixtures(env, settings.machineClients);
    postgres = settings.databaseUrl ? await postgresProbe(settings.databaseUrl) : undefined;

    progress(`starting the server: node bin/unified-id.js serve on port ${port}`);
    const profileDir = path.join(workDir, 'cpu-profile');
    server = await startServerProcess({
      env,
      port,
      logDir: workDir,
      nodeArgs: settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    const issuer = env['ISSUER']!;
    const { config, endpoints } = await discoverEndpoints(issuer, fixtures.site);
    progress('signing the citizen in through the login and consent pages');
    const userinfoToken = await citizenAccessToken(config, fixtures.site, fixtures.citizen);
    const introspection = [];
    for (const m of fixtures.machines.slice(0, 8)) {
      introspection.push({
        auth: basicAuth(m),
        token: await clientCredentialsToken(server.url, endpoints.token, m),
      });
    }
    const every = scenarios(fixtures, endpoints, { userinfo: userinfoToken, introspection });
    const unknown = settings.only.filter((name) => !every.some((s) => s.name === name));
    if (unknown.length) throw new Error(`BENCH_SCENARIOS: no scenario ${unknown.join(', ')}`);
    const all = settings.only.length ? every.filter((s) => settings.only.includes(s.name)) : every;

    // A few requests of each kind, then a pause: "idle" is a server that has served, not a cold one.
    for (const s of all) {
      for (const r of s.requests.slice(0, 3)) {
        const res = await fetch(new URL(r.path, server.url), {
          method: r.method,
          headers: r.headers,
          ...(r.body === undefined ? {} : { body: r.body }),
        });
        const body = await res.text();
        if (res.status !== 200 || !s.expect(body)) {
          throw new Error(`${s.name} does not work before the load: ${res.status} ${body.slice(0, 300)}`);
        }
      }
    }
    await sleep(1000);
    const idle = memoryMiB(server.pid);
    progress(`idle RSS ${idle.rss.toFixed(0)} MiB`);

    const base = {
      targets: [{ url: server.url, pid: server.pid }],
      connections: settings.connections,
      dbCpu: postgres?.probe,
    };
    const results: LoadResult[] = [];
    for (const s of all) {
      if (settings.warmupSeconds > 0) {
        progress(`${s.name}: ${settings.warmupSeconds} s warm-up`);
        await runLoad(s, { ...base, seconds: settings.warmupSeconds });
      }
      progress(`${s.name}: ${settings.seconds} s with ${settings.connections} connections`);
      const r = await runLoad(s, { ...base, seconds: settings.seconds });
      progress(
        `${s.name}: ${r.rps.toFixed(0)} req/s, server ${r.serverCores.toFixed(2)} cores, others ${r.otherCores?.toFixed(2) ?? '?'} cores, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}`,
      );
      results.push(r);
    }
    const peak = results.find((r) => r.scenario === 'client credentials');
    let halfPeak: LoadResult | undefined;
    const rate = Math.floor((peak?.rps ?? 0) / 2);
    const tokenScenario = all.find((s) => s.name === 'client credentials');
    if (tokenScenario && rate >= 1) {
      progress(`client credentials at half the peak: ${rate}/s offered for ${settings.seconds} s`);
      halfPeak = await runLoad(tokenScenario, { ...base, seconds: settings.seconds, overallRate: rate });
      halfPeak.scenario = 'client credentials at half peak';
      progress(`half peak: ${halfPeak.rps.toFixed(0)} req/s, p50 ${halfPeak.p50} ms, p99 ${halfPeak.p99} ms`);
    }
    await sleep(500);
    const after = memoryMiB(server.pid);
    const memory: Memory = { idleRss: idle.rss, afterLoadRss: after.rss, peakRss: after.peak };

    const machine: Machine = {
      date: new Date().toISOString(),
      database: postgres
        ? `PostgreSQL ${postgres.version}`
        : `PGlite ${pgliteVersion()} (embedded, on disk, in the server process)`,
      serverEnv: env['DATABASE_POOL_MAX']
        ? `${serverEnv}, DATABASE_POOL_MAX=${env['DATABASE_POOL_MAX']}`
        : serverEnv,
      cores: os.availableParallelism(),
      cpuModel: cpuModel(),
      memoryGiB: os.totalmem() / 1024 ** 3,
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      revision: revision(),
    };
    const run = {
      kind,
      machine,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      machineClients: settings.machineClients,
      results,
      halfPeak,
      memory,
    };
    const section = renderRun(run);
    const queryTable = renderQueries(queries);
    process.stdout.write(`\n${section}\n\n${queryTable}\n`);

    const failed = [...results, ...(halfPeak ? [halfPeak] : [])].some(
      (r) => r.non2xx + r.errors + r.timeouts + r.unexpected > 0,
    );
    if (failed) {
      process.exitCode = 1;
      const serverOutput = server.output().trim();
      process.stderr.write(
        `\n[bench] some requests failed; the server's output (full log in ${server.logFile}):\n${serverOutput || '(nothing)'}\n`,
      );
    }
    if (settings.write && settings.only.length) {
      progress('BENCH_SCENARIOS is set: a partial run is not written to bench/RESULTS.md');
    } else if (settings.write) {
      writeSections(RESULTS_FILE.pathname, { [kind]: section, queries: queryTable });
      progress(`wrote the ${kind} section of bench/RESULTS.md`);
    }
  } catch (err) {
    process.exitCode = 1;
    if (String((err as Error).message).includes('unable to authenticate data')) {
      progress(
        "the database's signing keys were sealed with another DATA_ENCRYPTION_KEY: set the one it was made with, or use a fresh database",
      );
    }
    if (server) {
      process.stderr.write(
        `[bench] the server's output (full log in ${server.logFile}):\n${server.output().trim() || '(nothing)'}\n`,
      );
    }
    throw err;
  } finally {
    await server?.stop().catch((err) => progress(`stopping the server: ${(err as Error).message}`));
    if (server && settings.cpuProfile) {
      try {
        process.stderr.write(`\n${summariseCpuProfile(path.join(workDir, 'cpu-profile'))}\n`);
      } catch (err) {
        progress(`no CPU profile: ${(err as Error).message}`);
      }
    }
    await postgres?.end().catch(() => {});
    if (fixtures && settings.databaseUrl) {
      await removeClients(env, [...fixtures.machines.map((m) => m.clientId), fixtures.site.clientId]).catch(
        (err) => progress(`removing the bench clients: ${(err as Error).message}`),
      );
    }
    // Keep the server log when something failed, so it can be read.
    if (process.exitCode || settings.cpuProfile) progress(`kept ${workDir} (server.log, cpu-profile/)`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

let interrupted = false;
process.once('SIGINT', () => {
  // The server child is killed by the exit handler in server-process.ts.
  interrupted = true;
  process.exit(130);
});

try {
  await main();
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  }
}
