import http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  assertLocal,
  cpuColumns,
  type DatabaseCpuProbe,
  failureSamples,
  type LoadResult,
  type LoadTarget,
  latencyPercentiles,
  type Scenario,
  split,
  startCpuMeasurement,
} from './load.js';

/**
 * Requests at an even pace: request i is due at start + i / rate, whatever happened to the ones
 * before it (an open model, as independent sites calling /token are). autocannon's overallRate
 * instead lets each connection send its whole second's quota back to back and then wait, which
 * is full load for part of each second, so its p99 "at half the peak" was the p99 of bursts.
 * Latency runs from when a request was due, not from when a free connection took it: a server
 * that falls behind shows as waiting, not as fewer requests (no coordinated omission).
 */
export async function runPaced(
  scenario: Scenario,
  options: {
    targets: LoadTarget[];
    rate: number;
    seconds: number;
    /** Keep-alive connections, split over the targets; a due request waits for a free one. */
    connections: number;
    dbCpu?: DatabaseCpuProbe | undefined;
  },
): Promise<LoadResult> {
  assertLocal(options.targets);
  const perTarget = split(options.connections, options.targets.length);
  const agents = options.targets.map(
    (_, i) => new http.Agent({ keepAlive: true, maxSockets: Math.max(1, perTarget[i]!) }),
  );
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const { samples, sample } = failureSamples();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let unexpected = 0;

  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const target = options.targets[i % options.targets.length]!;
      const r = scenario.requests[i % scenario.requests.length]!;
      const req = http.request(
        new URL(r.path, target.url),
        {
          method: r.method,
          headers: r.headers,
          agent: agents[i % options.targets.length],
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = res.statusCode ?? 0;
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            const body = Buffer.concat(chunks).toString();
            if (status < 200 || status > 299) {
              non2xx++;
              sample(`${status} ${body}`);
            } else if (!scenario.expect(body)) {
              unexpected++;
              sample(`${status} (unexpected body) ${body}`);
            } else ok++;
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', (err) => {
        if (err.message !== 'timeout') errors++;
        sample(String(err));
        resolve();
      });
      req.end(r.body);
    });

  const stop = await startCpuMeasurement(
    options.targets.map((t) => t.pid),
    options.dbCpu,
  );
  const interval = 1000 / options.rate;
  const total = Math.floor(options.rate * options.seconds);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        inFlight.push(send(next, start + next * interval));
        next++;
      }
      if (next >= total) return done();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const cpu = await stop();
  for (const agent of agents) agent.destroy();

  return {
    scenario: scenario.name,
    connections: options.connections,
    seconds: cpu.wall,
    rps: ok / cpu.wall,
    ...latencyPercentiles(latencies),
    ...cpuColumns(cpu),
    non2xx,
    statusCodes,
    errors,
    timeouts,
    unexpected,
    samples,
    overallRate: options.rate,
  };
}
