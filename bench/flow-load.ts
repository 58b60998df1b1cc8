import { UnexpectedAnswer } from './flows.js';
import {
  assertLocal,
  cpuColumns,
  type DatabaseCpuProbe,
  failureSamples,
  type LoadResult,
  type LoadTarget,
  latencyPercentiles,
  startCpuMeasurement,
} from './load.js';

/** One of the N concurrent workers of a flow run, bound to one server process for the whole run. */
export interface FlowWorker {
  index: number;
  target: LoadTarget;
}

/**
 * A scenario autocannon's fixed request lists can not express: each iteration is a short
 * conversation (cookies, forms, a code, a rotating token) driven by the bench's own code.
 */
export interface FlowScenario {
  name: string;
  /** Made once before the warm-up, not measured: per-worker state (a signed-in browser, a refresh token…). */
  prepare?(workers: FlowWorker[]): Promise<void>;
  /**
   * One iteration; one that resolves is one success. It may resolve with the durations (ms) of
   * named parts of it, reported separately. Throws (UnexpectedAnswer) on any unexpected answer.
   */
  iterate(worker: FlowWorker): Promise<Record<string, number> | undefined>;
  /** After the measured run, not measured: checks what the answers could not show (e.g. an SMS really sent). */
  verify?(): Promise<string[]>;
}

/** Worker i uses server i mod n: with two processes, half the workers load each. */
export function flowWorkers(count: number, targets: LoadTarget[]): FlowWorker[] {
  return Array.from({ length: count }, (_, index) => ({ index, target: targets[index % targets.length]! }));
}

/** A worker stops after this many failures in a row (a broken refresh chain fails forever). */
const GIVE_UP_AFTER = 3;

/**
 * N workers, each looping the scenario's iteration from the start until `seconds` have passed;
 * an iteration started before the end is finished and counted, and the wall time (and CPU) runs
 * until the last one is done, so every CPU second measured belongs to a counted iteration.
 * Server CPU is read from /proc like the autocannon scenarios (summed over the server processes).
 */
export async function runFlow(
  scenario: FlowScenario,
  options: {
    workers: FlowWorker[];
    seconds: number;
    dbCpu?: DatabaseCpuProbe | undefined;
  },
): Promise<LoadResult> {
  const targets = [...new Set(options.workers.map((w) => w.target))];
  assertLocal(targets);
  const latencies: number[] = [];
  const parts = new Map<string, number[]>();
  const statusCodes: Record<string, number> = {};
  const { samples, sample } = failureSamples();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let unexpected = 0;
  const fail = (err: unknown) => {
    if (err instanceof UnexpectedAnswer) {
      if (err.status >= 400) {
        non2xx++;
        statusCodes[String(err.status)] = (statusCodes[String(err.status)] ?? 0) + 1;
      } else {
        unexpected++;
      }
    } else if ((err as Error).name === 'TimeoutError') {
      timeouts++;
    } else {
      errors++;
    }
    sample(String((err as Error).message ?? err));
  };

  const stop = await startCpuMeasurement(
    targets.map((t) => t.pid),
    options.dbCpu,
  );
  const deadline = performance.now() + options.seconds * 1000;
  await Promise.all(
    options.workers.map(async (worker) => {
      let failedInARow = 0;
      while (performance.now() < deadline && failedInARow < GIVE_UP_AFTER) {
        const started = performance.now();
        try {
          const timings = await scenario.iterate(worker);
          latencies.push(performance.now() - started);
          for (const [name, ms] of Object.entries(timings ?? {})) {
            const list = parts.get(name) ?? [];
            list.push(ms);
            parts.set(name, list);
          }
          ok++;
          failedInARow = 0;
        } catch (err) {
          fail(err);
          failedInARow++;
        }
      }
    }),
  );
  const cpu = await stop();
  for (const problem of (await scenario.verify?.()) ?? []) {
    unexpected++;
    ok--;
    sample(problem);
  }

  return {
    scenario: scenario.name,
    connections: options.workers.length,
    seconds: cpu.wall,
    rps: Math.max(0, ok) / cpu.wall,
    ...latencyPercentiles(latencies),
    ...cpuColumns(cpu),
    non2xx,
    statusCodes,
    errors,
    timeouts,
    unexpected,
    samples,
    flow: true,
    parts: [...parts].map(([name, values]) => ({ name, ...latencyPercentiles(values) })),
  };
}
