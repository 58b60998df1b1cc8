import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { QUIET_MS } from '../src/ops/memory-trim.js';
import { freePort } from '../test/support/server.js';
import { type AnyScenario, CEILING_OF, type Ceiling, startCeiling } from './ceiling.js';
import { summariseCpuProfile } from './cpu-profile.js';
import {
  DIFF_SCENARIOS,
  diffScenario,
  loadAverage,
  PROFILE_HOOK_ARGS,
  renderDiffSection,
  type ScenarioDiff,
} from './diff.js';
import { flowWorkers, runFlow } from './flow-load.js';
import { CitizenPool, flowScenarios, SIGN_INS_PER_CITIZEN } from './flow-scenarios.js';
import { type DatabaseCpuProbe, type LoadResult, type LoadTarget, runLoad } from './load.js';
import { runPaced } from './paced-load.js';
import { pinProcesses, planPinning } from './pinning.js';
import { profileQueries } from './query-profile.js';
import {
  type DatabaseKind,
  failures,
  type Machine,
  type Memory,
  perCore,
  renderQueries,
  renderRun,
  sectionOf,
  sectionTitle,
  writeSections,
} from './report.js';
import { requestScenarios } from './request-scenarios.js';
import {
  buildServer,
  cpuSeconds,
  memoryMiB,
  type ServerProcess,
  startServerProcess,
} from './server-process.js';
import {
  BENCH_API,
  basicAuth,
  citizenAccessToken,
  clientCredentialsToken,
  discoverEndpoints,
  type Fixtures,
  prepareFixtures,
  removeFixtures,
} from './setup.js';

/** The named variables of the bench's own environment that are set. */
const passedOn = (...names: string[]) =>
  Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])));

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
  /** Server processes on the one database (PostgreSQL only for 2). */
  processes: numberSetting('BENCH_PROCESSES', 1, 1, 2),
  /** First-party sites the flow scenarios' /token requests are spread over (per-client /token limit). */
  sites: numberSetting('BENCH_SITES', 16, 1, 256),
  /** Citizens for the sign-ins of the flow scenarios, each signed in at most 30 times a run (per-account limit). */
  citizens: numberSetting('BENCH_CITIZENS', 64, 1, 10_000),
  /** Registered phones for the SMS-code scenario, each sent one code a run; 0: enough for 400/s. */
  smsPhones: numberSetting('BENCH_SMS_PHONES', 0, 0, 200_000),
  write: process.argv.includes('--write') || process.env['BENCH_WRITE'] === '1',
  /** The differential profile against the ceiling (bench/diff.ts); always written to RESULTS.md. */
  diff: process.argv.includes('--diff'),
  /** Only these scenarios (comma-separated names, e.g. `userinfo`); a partial run is never written. */
  only: (process.env['BENCH_SCENARIOS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  /** Run the server under `node --cpu-prof` and print where its CPU went. */
  cpuProfile: process.env['BENCH_CPU_PROFILE'] === '1',
  nodeEnv: process.env['BENCH_NODE_ENV'] === 'production' ? 'production' : 'test',
  /** Run the TypeScript sources through tsx instead of the built dist/ (what the image runs). */
  fromSource: process.env['BENCH_FROM_SOURCE'] === '1',
  databaseUrl: process.env['DATABASE_URL'] || undefined,
  /** Measure bare oidc-provider too, scenario by scenario (BENCH_CEILING=0 skips it). */
  ceiling: process.env['BENCH_CEILING'] !== '0',
};
if (settings.diff && (settings.processes > 1 || !settings.ceiling))
  throw new Error(
    '--diff compares one server process with the ceiling: BENCH_PROCESSES=1, no BENCH_CEILING=0',
  );
if (settings.connections < settings.processes)
  throw new Error('BENCH_CONNECTIONS must be at least BENCH_PROCESSES');

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
  const rawHost = decodeURIComponent(new URL(databaseUrl).hostname);
  // `postgres://user@%2Ftmp%2Fpg:5432/db`: the cluster's Unix socket directory, on this machine.
  const socket = rawHost.startsWith('/');
  const host = socket ? `the Unix socket in ${rawHost}` : rawHost;
  // One after the other: one client runs one query at a time.
  const parameters: string[] = [];
  for (const n of ['shared_buffers', 'synchronous_commit', 'fsync', 'max_connections'])
    parameters.push(`${n}=${await show(n)}`);
  const version = `${await show('server_version')} at ${host || 'a local socket'} (${parameters.join(', ')})`;
  const probe: DatabaseCpuProbe | undefined =
    socket || LOCAL_HOSTS.includes(host)
      ? async () => {
          const { rows } = await client.query<{ pid: number }>(
            // This database only: other servers on a shared cluster use the same application name.
            "select pid from pg_stat_activity where application_name = 'unified-id' and datname = current_database()",
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

async function main() {
  const kind: DatabaseKind = settings.databaseUrl ? 'postgres' : 'pglite';
  if (settings.processes > 1 && kind !== 'postgres') {
    throw new Error(
      'BENCH_PROCESSES=2 needs PostgreSQL (DATABASE_URL): the embedded database belongs to one process',
    );
  }
  if (settings.databaseUrl) {
    progress(
      'PostgreSQL: the bench adds clients, citizens and tokens to this database; use a throw-away one',
    );
  }

  // BENCH_QUERY_PROFILE=0 skips the count for a quick look; such a run is never written.
  const countQueries = process.env['BENCH_QUERY_PROFILE'] !== '0' && !settings.diff;
  if (countQueries)
    progress('counting database statements per request and per flow (in-process, in-memory PGlite)');
  const queries = countQueries ? await profileQueries() : [];

  // Read before this process is pinned: afterwards it sees only its own cores.
  const machineCores = os.availableParallelism();
  // The servers on their own cores, this process (the load) on the others.
  const pinning = planPinning(settings.processes);
  pinProcesses([process.pid], pinning.others);
  progress(`cores: ${pinning.description}`);

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'uid-bench-'));
  const ports: number[] = [];
  while (ports.length < settings.processes) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
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
    PORT: String(ports[0]),
    HOST: '127.0.0.1',
    // One deployment: every process has the same issuer (and keys, cookies, database).
    ISSUER: `http://localhost:${ports[0]}`,
    DATA_DIR: path.join(workDir, 'data'),
    LOG_LEVEL: 'warn',
    DEMO_CLIENT: 'false',
    SHUTDOWN_GRACE_SECONDS: '2',
    // Memory settings of the process, passed on when set (README.md, "Capacity arithmetic").
    // As the Dockerfile sets it, unless the bench is told otherwise.
    UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] || '2',
    // As the Dockerfile sets it (V8's young generation capped: ~18 MiB less idle memory).
    NODE_OPTIONS: process.env['NODE_OPTIONS'] || '--max-semi-space-size=4',
    ...passedOn('MALLOC_ARENA_MAX'),
    // The flow scenarios' simulated citizens each come from their own address (X-Forwarded-For),
    // as behind a reverse proxy: the per-address login and SMS limits apply per citizen.
    TRUST_PROXY: 'true',
    // Fixed, so a PostgreSQL database keeps working across runs (its signing keys are sealed with
    // this key); the deployment's own secrets are used instead when they are set.
    COOKIE_KEYS: process.env['COOKIE_KEYS'] || benchSecret('cookie keys').toString('base64url'),
    DATA_ENCRYPTION_KEY:
      process.env['DATA_ENCRYPTION_KEY'] || benchSecret('data encryption key').toString('base64'),
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    ...(settings.databaseUrl ? { DATABASE_POOL_MAX: process.env['DATABASE_POOL_MAX'] || '10' } : {}),
  };

  const selected = (name: string) =>
    (!settings.diff || DIFF_SCENARIOS.includes(name)) &&
    (!settings.only.length || settings.only.includes(name));
  const profilePorts = settings.diff ? { ours: await freePort(), ceiling: await freePort() } : undefined;
  const smsSelected = selected('SMS-code issue') && serverEnv !== 'production';
  // Every phone gets one code a run (SMS_RULES: one a minute, ten a day), warm-up included:
  // enough for 400 codes a second per process unless BENCH_SMS_PHONES says otherwise.
  const smsPhones = smsSelected
    ? settings.smsPhones ||
      Math.ceil(400 * settings.processes * (settings.seconds + settings.warmupSeconds)) + 20
    : 0;

  let fixtures: Fixtures | undefined;
  const servers: ServerProcess[] = [];
  let ceiling: Ceiling | undefined;
  let postgres: Awaited<ReturnType<typeof postgresProbe>> | undefined;
  try {
    progress(
      `preparing ${settings.machineClients} machine clients, ${settings.sites} sites, ` +
        `${settings.citizens + smsPhones + 1} citizens (${kind})`,
    );
    fixtures = await prepareFixtures(env, {
      machines: settings.machineClients,
      sites: settings.sites,
      loginCitizens: settings.citizens,
      smsPhones,
    });
    postgres = settings.databaseUrl ? await postgresProbe(settings.databaseUrl) : undefined;

    if (!settings.fromSource) {
      progress('building dist/ (npm run build), the code the Docker image runs');
      buildServer();
    }
    const profileDir = (n: number) => path.join(workDir, `cpu-profile-${n}`);
    for (const [i, port] of ports.entries()) {
      progress(
        `starting server ${i + 1}: node ${settings.fromSource ? 'bin/unified-id.js (sources)' : 'dist/cli/main.js'} serve on port ${port}`,
      );
      servers.push(
        await startServerProcess({
          // The first process uses the data directory the fixtures were made in (the embedded
          // database lives there); another one (PostgreSQL) gets its own.
          env: {
            ...env,
            PORT: String(port),
            ...(i > 0 ? { DATA_DIR: path.join(workDir, `data-${i + 1}`) } : {}),
            ...(profilePorts ? { BENCH_PROFILE_PORT: String(profilePorts.ours) } : {}),
          },
          port,
          logDir: workDir,
          logName: settings.processes > 1 ? `server-${i + 1}.log` : 'server.log',
          nodeArgs: settings.cpuProfile
            ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(i + 1)}`]
            : profilePorts
              ? PROFILE_HOOK_ARGS
              : [],
          fromSource: settings.fromSource,
          cpus: pinning.server(i),
        }),
      );
    }
    if (settings.ceiling) {
      progress(
        'starting the ceiling: bare oidc-provider, in-memory adapter, one client (bench/ceiling-server.mjs)',
      );
      ceiling = await startCeiling({
        env,
        port: await freePort(),
        controlPort: await freePort(),
        logDir: workDir,
        cpus: pinning.server(0),
        refreshChains: settings.connections,
        ...(profilePorts
          ? { nodeArgs: PROFILE_HOOK_ARGS, extraEnv: { BENCH_PROFILE_PORT: String(profilePorts.ceiling) } }
          : {}),
      });
    }
    const targets: LoadTarget[] = servers.map((s) => ({ url: s.url, pid: s.pid }));
    const issuer = env['ISSUER']!;
    const { config, endpoints } = await discoverEndpoints(issuer, fixtures.site);
    progress('signing the citizen in through the login and consent pages');
    const userinfoToken = await citizenAccessToken(config, fixtures.site, fixtures.citizen);
    const introspection = [];
    for (const m of fixtures.machines.slice(0, 8)) {
      introspection.push({
        auth: basicAuth(m),
        token: await clientCredentialsToken(servers[0]!.url, endpoints.token, m),
      });
    }
    const every: AnyScenario[] = [
      ...requestScenarios(endpoints, {
        machines: fixtures.machines,
        userinfo: userinfoToken,
        introspection,
        api: BENCH_API,
      }).map((scenario): AnyScenario => ({ kind: 'requests', scenario })),
      ...flowScenarios({
        endpoints,
        sites: fixtures.sites,
        loginCitizens: new CitizenPool(fixtures.loginCitizens, SIGN_INS_PER_CITIZEN, 'BENCH_CITIZENS'),
        smsCitizens: new CitizenPool(fixtures.smsCitizens, 1, 'BENCH_SMS_PHONES'),
        outboxServer: servers[0]!.url,
      }).map((scenario): AnyScenario => ({ kind: 'flow', scenario })),
    ];
    const unknown = settings.only.filter((name) => !every.some((s) => s.scenario.name === name));
    if (unknown.length) {
      throw new Error(
        `BENCH_SCENARIOS: no scenario ${unknown.join(', ')} (there are: ${every.map((s) => s.scenario.name).join(', ')})`,
      );
    }
    const all = every.filter((s) => selected(s.scenario.name));
    if (serverEnv === 'production' && all.some((s) => s.scenario.name === 'SMS-code issue')) {
      progress('SMS-code issue is skipped: it reads captchas and codes from the development routes (/dev)');
    }
    const runnable = all.filter((s) => !(s.scenario.name === 'SMS-code issue' && !smsSelected));

    // A few requests of each kind on every process, then a pause: "idle" is a server that has
    // served, not a cold one. Each flow scenario prepares one worker per process (a sign-in) and
    // is tried once there; the other workers are prepared after the idle memory is read, so that
    // it is not the memory of dozens of concurrent argon2id hashes.
    const workers = flowWorkers(settings.connections, targets);
    const firstWorkers = workers.slice(0, targets.length);
    for (const s of runnable) {
      if (s.kind === 'requests') {
        for (const target of targets) {
          for (const r of s.scenario.requests.slice(0, 3)) {
            const res = await fetch(new URL(r.path, target.url), {
              method: r.method,
              headers: r.headers,
              ...(r.body === undefined ? {} : { body: r.body }),
            });
            const body = await res.text();
            if (res.status !== 200 || !s.scenario.expect(body)) {
              throw new Error(
                `${s.scenario.name} does not work before the load: ${res.status} ${body.slice(0, 300)}`,
              );
            }
          }
        }
      } else {
        await s.scenario.prepare?.(firstWorkers);
        for (const worker of firstWorkers) await s.scenario.iterate(worker);
        const problems = (await s.scenario.verify?.()) ?? [];
        if (problems.length)
          throw new Error(`${s.scenario.name} does not work before the load: ${problems[0]}`);
      }
    }
    // Idle: quiet long enough for the server to give its allocator's free pages back
    // (src/ops/memory-trim.ts: after one whole quiet period, checked once per period).
    await sleep(2 * QUIET_MS + 1000);
    const idle = servers.map((s) => memoryMiB(s.pid));
    const ceilingIdle = ceiling && memoryMiB(ceiling.server.pid);
    progress(`idle RSS ${idle.map((m) => `${m.rss.toFixed(0)} MiB`).join(', ')}`);
    for (const s of runnable) {
      if (s.kind === 'flow' && s.scenario.prepare && workers.length > firstWorkers.length) {
        progress(`${s.scenario.name}: preparing ${workers.length - firstWorkers.length} more workers`);
        await s.scenario.prepare(workers.slice(firstWorkers.length));
      }
    }

    const base = {
      targets,
      connections: settings.connections,
      dbCpu: postgres?.probe,
    };
    // The pool opens PostgreSQL connections as the load needs them: their backends are moved to
    // the load's cores before each run.
    const pinDatabase = async () => {
      if (postgres?.probe) pinProcesses((await postgres.probe()).keys(), pinning.others);
    };
    const measure = async (s: AnyScenario, seconds: number, on: LoadTarget[] = targets) => {
      await pinDatabase();
      return s.kind === 'requests'
        ? runLoad(s.scenario, { ...base, targets: on, seconds })
        : runFlow(s.scenario, {
            workers: on === targets ? workers : flowWorkers(settings.connections, on),
            seconds,
            dbCpu: postgres?.probe,
          });
    };
    const warmUpAndMeasure = async (s: AnyScenario, label: string, on?: LoadTarget[]) => {
      if (settings.warmupSeconds > 0) {
        progress(`${label}: ${settings.warmupSeconds} s warm-up`);
        await measure(s, settings.warmupSeconds, on);
      }
      const unit = s.kind === 'requests' ? 'connections' : 'workers';
      progress(`${label}: ${settings.seconds} s with ${settings.connections} ${unit}`);
      const r = await measure(s, settings.seconds, on);
      progress(
        `${label}: ${r.rps.toFixed(0)} ${s.kind === 'requests' ? 'req' : 'flows'}/s, server ${r.serverCores.toFixed(2)} cores, ${(r.rps / Math.max(r.serverCores, 0.01)).toFixed(0)} per core, others ${r.otherCores?.toFixed(2) ?? '?'} cores, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, failed ${r.non2xx + r.errors + r.timeouts + r.unexpected}`,
      );
      for (const sample of r.samples) progress(`  ${sample}`);
      return r;
    };
    if (profilePorts && ceiling) {
      const loadBefore = loadAverage();
      const diffs: ScenarioDiff[] = [];
      const ceilingTarget = { url: ceiling.server.url, pid: ceiling.server.pid };
      for (const s of runnable) {
        const against = CEILING_OF[s.scenario.name];
        const bare = against ? await ceiling.scenario(against) : undefined;
        if (!against || !bare) continue;
        const d = await diffScenario(
          (scenario, label, on, warmUp) =>
            warmUp ? warmUpAndMeasure(scenario, label, on) : measure(scenario, settings.seconds, on),
          { name: s.scenario.name, ours: s, ceiling: bare, against },
          { target: targets[0]!, profilePort: profilePorts.ours },
          { target: ceilingTarget, profilePort: profilePorts.ceiling },
          (side, profile) =>
            writeFileSync(
              path.join(workDir, `${s.scenario.name.replace(/\W+/g, '-')}-${side}.cpuprofile`),
              JSON.stringify(profile),
            ),
        );
        progress(
          `${s.scenario.name}: ${(perCore(d.ours) / perCore(d.ceiling)).toFixed(2)} × the ceiling; ${d.diff.oursUs.toFixed(0)} against ${d.diff.ceilingUs.toFixed(0)} µs per request under the profiler`,
        );
        diffs.push(d);
      }
      const section = renderDiffSection({
        title: sectionTitle(`diff-${kind}`),
        date: new Date().toISOString(),
        revision: revision(),
        database: postgres ? `PostgreSQL ${postgres.version}` : `PGlite ${pgliteVersion()}`,
        setup: `${pinning.description}; ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s plain + ${settings.seconds} s profiled per side; sampling every ${process.env['BENCH_PROFILE_INTERVAL_US'] || 250} µs; server dist/ with ${env['NODE_OPTIONS']}, UV_THREADPOOL_SIZE=${env['UV_THREADPOOL_SIZE']}; ${machineCores} cores (${cpuModel()})`,
        loadBefore,
        diffs,
      });
      process.stdout.write(`\n${section}\n`);
      const failed = diffs.some((d) =>
        [d.ours, d.ceiling, d.profiledOurs, d.profiledCeiling].some((r) => failures(r) > 0),
      );
      if (failed) {
        process.exitCode = 1;
        progress('some requests failed: the differential profile is not written');
      } else {
        writeSections(RESULTS_FILE.pathname, { [`diff-${kind}`]: section });
        progress(`wrote the diff-${kind} section of bench/RESULTS.md`);
      }
      return;
    }
    const results: LoadResult[] = [];
    const ceilingResults: Record<string, LoadResult> = {};
    for (const s of runnable) {
      const name = s.scenario.name;
      const r = await warmUpAndMeasure(s, name);
      results.push(r);
      // The ceiling's same scenario right after ours, on the same core: the ratio compares two
      // runs a few seconds apart rather than a run with the weather of another day.
      const against = CEILING_OF[name];
      if (ceiling && against && !ceilingResults[against]) {
        const bare = await ceiling.scenario(against);
        if (bare) {
          const c = await warmUpAndMeasure(bare, `ceiling ${against}`, [
            { url: ceiling.server.url, pid: ceiling.server.pid },
          ]);
          ceilingResults[against] = { ...c, scenario: `ceiling ${against}` };
        }
      }
      const ours = perCore(r);
      const bareResult = against ? ceilingResults[against] : undefined;
      if (bareResult)
        progress(`${name}: ${(ours / perCore(bareResult)).toFixed(2)} × the ceiling (per core)`);
    }
    const peak = results.find((r) => r.scenario === 'client credentials');
    let halfPeak: LoadResult | undefined;
    const rate = Math.floor((peak?.rps ?? 0) / 2);
    const tokenScenario = runnable.find((s) => s.scenario.name === 'client credentials');
    if (tokenScenario?.kind === 'requests' && rate >= 1) {
      progress(`client credentials at half the peak: ${rate}/s offered for ${settings.seconds} s`);
      halfPeak = await runPaced(tokenScenario.scenario, {
        ...base,
        seconds: settings.seconds,
        rate,
      });
      halfPeak.scenario = 'client credentials at half peak';
      progress(
        `half peak: ${halfPeak.rps.toFixed(0)} req/s, p50 ${halfPeak.p50.toFixed(1)} ms, p99 ${halfPeak.p99.toFixed(1)} ms`,
      );
    }
    await sleep(500);
    const memory: Memory[] = servers.map((s, i) => {
      const after = memoryMiB(s.pid);
      return { idleRss: idle[i]!.rss, afterLoadRss: after.rss, peakRss: after.peak };
    });
    const ceilingAfter = ceiling && memoryMiB(ceiling.server.pid);
    const ceilingMemory: Memory | undefined =
      ceilingIdle && ceilingAfter
        ? { idleRss: ceilingIdle.rss, afterLoadRss: ceilingAfter.rss, peakRss: ceilingAfter.peak }
        : undefined;

    const machine: Machine = {
      date: new Date().toISOString(),
      database: postgres
        ? `PostgreSQL ${postgres.version}`
        : `PGlite ${pgliteVersion()} (embedded, on disk, in the server process)`,
      serverEnv: [
        settings.fromSource ? 'src/ through tsx' : 'dist/ (as the Docker image)',
        `NODE_ENV=${serverEnv}`,
        ...['MALLOC_ARENA_MAX', 'UV_THREADPOOL_SIZE', 'NODE_OPTIONS'].flatMap((n) =>
          env[n] ? [`${n}=${env[n]}`] : [],
        ),
        ...(env['DATABASE_POOL_MAX'] ? [`DATABASE_POOL_MAX=${env['DATABASE_POOL_MAX']}`] : []),
      ].join(', '),
      cores: machineCores,
      cpuModel: cpuModel(),
      memoryGiB: os.totalmem() / 1024 ** 3,
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      revision: revision(),
    };
    const run = {
      kind,
      processes: settings.processes,
      machine,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      machineClients: settings.machineClients,
      sites: settings.sites,
      results,
      halfPeak,
      memory,
      ceiling: ceilingResults,
      ceilingMemory,
      pinning: pinning.description,
    };
    const section = renderRun(run);
    const queryTable = renderQueries(queries);
    process.stdout.write(`\n${section}\n\n${queryTable}\n`);

    const failed = [...results, ...Object.values(ceilingResults), ...(halfPeak ? [halfPeak] : [])].some(
      (r) => r.non2xx + r.errors + r.timeouts + r.unexpected > 0,
    );
    if (failed) {
      process.exitCode = 1;
      for (const server of servers) {
        process.stderr.write(
          `\n[bench] some requests failed; the server's output (full log in ${server.logFile}):\n${server.output().trim() || '(nothing)'}\n`,
        );
      }
    }
    const sectionKey = sectionOf(kind, settings.processes);
    if (settings.write && !countQueries) {
      progress('BENCH_QUERY_PROFILE=0: a run without the statement count is not written to bench/RESULTS.md');
    } else if (settings.write && settings.only.length) {
      progress('BENCH_SCENARIOS is set: a partial run is not written to bench/RESULTS.md');
    } else if (settings.write) {
      writeSections(RESULTS_FILE.pathname, { [sectionKey]: section, queries: queryTable });
      progress(`wrote the ${sectionKey} section of bench/RESULTS.md`);
    }
  } catch (err) {
    process.exitCode = 1;
    if (String((err as Error).message).includes('unable to authenticate data')) {
      progress(
        "the database's signing keys were sealed with another DATA_ENCRYPTION_KEY: set the one it was made with, or use a fresh database",
      );
    }
    for (const server of servers) {
      process.stderr.write(
        `[bench] the server's output (full log in ${server.logFile}):\n${server.output().trim() || '(nothing)'}\n`,
      );
    }
    throw err;
  } finally {
    await Promise.all(
      [...servers, ...(ceiling ? [ceiling.server] : [])].map((server) =>
        server.stop().catch((err) => progress(`stopping a server: ${(err as Error).message}`)),
      ),
    );
    if (servers.length && settings.cpuProfile) {
      for (const n of servers.keys()) {
        try {
          process.stderr.write(`\n${summariseCpuProfile(path.join(workDir, `cpu-profile-${n + 1}`))}\n`);
        } catch (err) {
          progress(`no CPU profile: ${(err as Error).message}`);
        }
      }
    }
    await postgres?.end().catch(() => {});
    if (fixtures && settings.databaseUrl) {
      await removeFixtures(env, fixtures).catch((err) =>
        progress(`removing the bench clients and citizens: ${(err as Error).message}`),
      );
    }
    // Keep the server logs when something failed, so they can be read.
    if (process.exitCode || settings.cpuProfile || settings.diff)
      progress(`kept ${workDir} (server logs, cpu-profile-*/)`);
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
  // `npm run bench -- audit`: the audit log's appends and verify, in bench/audit.ts.
  if (process.argv.includes('audit')) await (await import('./audit.js')).runAuditBench();
  else await main();
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  }
}
