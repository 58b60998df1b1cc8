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
}

/** CPU seconds of the database server processes serving the provider, by pid. */
export type DatabaseCpuProbe = () => Promise<Map<number, number>>;

function dbCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/**
 * One bounded autocannon run against 127.0.0.1, measuring the server process's CPU from
 * /proc/<pid>/stat over exactly the run.
 */
export async function runLoad(
  scenario: Scenario,
  options: {
    url: string;
    serverPid: number;
    connections: number;
    seconds: number;
    overallRate?: number | undefined;
    dbCpu?: DatabaseCpuProbe | undefined;
  },
): Promise<LoadResult> {
  const target = new URL(options.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new Error(`the bench only loads local servers, not ${target.host}`);
  }
  let unexpected = 0;
  const samples: string[] = [];
  const sample = (text: string) => {
    if (samples.length < 3) samples.push(text.slice(0, 400));
  };
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

  const dbBefore = await options.dbCpu?.();
  const cpuBefore = cpuSeconds(options.serverPid);
  const machineBefore = machineBusySeconds();
  const loaderBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    requests,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(options.serverPid);
  const machineAfter = machineBusySeconds();
  const loader = process.cpuUsage(loaderBefore);
  const dbAfter = await options.dbCpu?.();
  if (cpuBefore === undefined || cpuAfter === undefined)
    throw new Error('the server process went away during the run');

  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  const ok = result['2xx'] - unexpected;
  const serverCores = (cpuAfter - cpuBefore) / wall;
  const dbCores = dbBefore && dbAfter ? dbCpuDelta(dbBefore, dbAfter) / wall : undefined;
  const loaderCores = (loader.user + loader.system) / 1e6 / wall;
  const otherCores =
    machineBefore === undefined || machineAfter === undefined
      ? undefined
      : Math.max(0, (machineAfter - machineBefore) / wall - serverCores - (dbCores ?? 0) - loaderCores);
  return {
    scenario: scenario.name,
    connections: options.connections,
    seconds: result.duration,
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    serverCores,
    dbCores,
    loaderCores,
    otherCores,
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    unexpected,
    samples,
    overallRate: options.overallRate,
  };
}
