import autocannon from 'autocannon';
import { cpuSeconds, machineBusySeconds } from './server-process.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Scenario {
  name: string;
  /** Requests each connection cycles through (e.g. one per client, to spread per-client limits). */
  requests: LoadRequest[];
  /** A 2xx response whose body fails this is counted as `unexpected` (e.g. introspection saying inactive). */
  expect: (body: string) => boolean;
}

export interface LoadResult {
  scenario: string;
  connections: number;
  seconds: number;
  /** Successful (2xx, expected body) responses per second. */
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU in cores (CPU seconds per wall second) over the run. */
  serverCores: number;
  /** Database server CPU in cores, when its processes are on this machine (PostgreSQL). */
  dbCores: number | undefined;
  /** Load generator (this process) CPU in cores: near 1.0 means the generator, not the server, was the limit. */
  loaderCores: number;
  /** Everything else busy on the machine, in cores (other processes, kernel, PostgreSQL's background workers). */
  otherCores: number | undefined;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  unexpected: number;
  /** A few non-2xx / unexpected responses, to tell why. */
  samples: string[];
  overallRate?: number | undefined;
  /** A flow scenario: rps counts completed iterations (flows), p50/p99 are per iteration. */
  flow?: boolean;
  /** Flow scenarios: latencies of named parts of an iteration (e.g. the /token request alone). */
  parts?: { name: string; p50: number; p99: number }[];
}

/** CPU seconds of the database server processes serving the provider, by pid. */
export type DatabaseCpuProbe = () => Promise<Map<number, number>>;

function dbCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** A server process under load: its base URL (127.0.0.1 only) and its pid, for its CPU time. */
export interface LoadTarget {
  url: string;
  pid: number;
}

export function assertLocal(targets: LoadTarget[]) {
  for (const t of targets) {
    const target = new URL(t.url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
      throw new Error(`the bench only loads local servers, not ${target.host}`);
    }
  }
}

export interface CpuMeasurement {
  wall: number;
  /** Sum over the server processes. */
  serverCores: number;
  dbCores: number | undefined;
  loaderCores: number;
  otherCores: number | undefined;
}

/**
 * Starts measuring CPU over a run: the server processes (utime + stime from /proc/<pid>/stat,
 * summed), the database backends, this process (the load generator) and the whole machine.
 * The returned function ends the measurement.
 */
export async function startCpuMeasurement(
  serverPids: number[],
  dbCpu: DatabaseCpuProbe | undefined,
): Promise<() => Promise<CpuMeasurement>> {
  const dbBefore = await dbCpu?.();
  const cpuBefore = serverPids.map(cpuSeconds);
  const machineBefore = machineBusySeconds();
  const loaderBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  return async () => {
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuAfter = serverPids.map(cpuSeconds);
    const machineAfter = machineBusySeconds();
    const loader = process.cpuUsage(loaderBefore);
    const dbAfter = await dbCpu?.();
    let server = 0;
    for (const [i, after] of cpuAfter.entries()) {
      const before = cpuBefore[i];
      if (before === undefined || after === undefined)
        throw new Error('a server process went away during the run');
      server += after - before;
    }
    const serverCores = server / wall;
    const dbCores = dbBefore && dbAfter ? dbCpuDelta(dbBefore, dbAfter) / wall : undefined;
    const loaderCores = (loader.user + loader.system) / 1e6 / wall;
    const otherCores =
      machineBefore === undefined || machineAfter === undefined
        ? undefined
        : Math.max(0, (machineAfter - machineBefore) / wall - serverCores - (dbCores ?? 0) - loaderCores);
    return { wall, serverCores, dbCores, loaderCores, otherCores };
  };
}

/** The q-th percentile (0–100, nearest rank) of ascending-sorted values; 0 for none. */
export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))]!;
}

/** p50 and p99 of latencies in ms (sorted in place). */
export function latencyPercentiles(values: number[]): { p50: number; p99: number } {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** The CPU columns of a result, from a finished measurement. */
export function cpuColumns({ serverCores, dbCores, loaderCores, otherCores }: CpuMeasurement) {
  return { serverCores, dbCores, loaderCores, otherCores };
}

/** The first few failure texts of a run, kept to tell why it failed. */
export function failureSamples(): { samples: string[]; sample(text: string): void } {
  const samples: string[] = [];
  return {
    samples,
    sample: (text) => {
      if (samples.length < 3) samples.push(text.slice(0, 400));
    },
  };
}

/** Splits `total` (connections, a rate) over `parts` as evenly as whole numbers allow. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/**
 * A bounded autocannon run against 127.0.0.1, measuring the server processes' CPU from
 * /proc/<pid>/stat over exactly the run. With several targets (server processes), the
 * connections (and an overall rate) are split evenly and one autocannon runs per target, all at
 * once; req/s and CPU are summed, and p50/p99 are taken over every response of every target.
 */
export async function runLoad(
  scenario: Scenario,
  options: {
    targets: LoadTarget[];
    connections: number;
    seconds: number;
    overallRate?: number | undefined;
    dbCpu?: DatabaseCpuProbe | undefined;
  },
): Promise<LoadResult> {
  assertLocal(options.targets);
  let unexpected = 0;
  const { samples, sample } = failureSamples();
  const onResponse = (status: number, body: string) => {
    if (status < 200 || status > 299) {
      sample(`${status} ${body}`);
    } else if (!scenario.expect(body)) {
      unexpected++;
      sample(`${status} (unexpected body) ${body}`);
    }
  };
  const requests = scenario.requests.map((r) => ({
    method: r.method,
    path: r.path,
    headers: r.headers,
    ...(r.body === undefined ? {} : { body: r.body }),
    onResponse,
  }));

  const connections = split(options.connections, options.targets.length);
  const rates = options.overallRate ? split(options.overallRate, options.targets.length) : undefined;
  const responseTimes: number[] = [];
  const stop = await startCpuMeasurement(
    options.targets.map((t) => t.pid),
    options.dbCpu,
  );
  const runs = await Promise.all(
    options.targets.map(
      (target, i) =>
        new Promise<autocannon.Result>((resolve, reject) => {
          // With a callback autocannon returns its instance, whose events give every response time.
          const instance = autocannon(
            {
              url: target.url,
              connections: Math.max(1, connections[i]!),
              duration: options.seconds,
              timeout: 10,
              requests,
              ...(rates ? { overallRate: Math.max(1, rates[i]!) } : {}),
            },
            (err, result) => (err ? reject(err) : resolve(result)),
          );
          if (options.targets.length > 1) {
            instance.on('response', (_client, _status, _bytes, ms) => responseTimes.push(ms));
          }
        }),
    ),
  );
  const cpu = await stop();

  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  for (const result of runs) {
    for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
      statusCodes[code] = (statusCodes[code] ?? 0) + (stat.count ?? 0);
    ok += result['2xx'];
    non2xx += result.non2xx;
    errors += result.errors;
    timeouts += result.timeouts;
  }
  ok -= unexpected;
  const duration = Math.max(...runs.map((r) => r.duration));
  const { p50, p99 } = runs.length === 1 ? runs[0]!.latency : latencyPercentiles(responseTimes);
  return {
    scenario: scenario.name,
    connections: options.connections,
    seconds: duration,
    rps: ok / duration,
    p50,
    p99,
    ...cpuColumns(cpu),
    non2xx,
    statusCodes,
    errors,
    timeouts,
    unexpected,
    samples,
    overallRate: options.overallRate,
  };
}
