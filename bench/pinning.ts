import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * Which cores the servers and everything else (the load generator, PostgreSQL's backends) run
 * on. With at least one core more than server processes, server i gets core i to itself and the
 * rest share the others, so the server's figures are those of one core, not of whatever core
 * the load generator left free. With fewer cores, or without taskset, nothing is pinned.
 */
export interface Pinning {
  /** The `taskset -c` list of server process i, or undefined when unpinned. */
  server(i: number): string | undefined;
  /** The cores of the load generator and the database backends. */
  others: string | undefined;
  description: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function planPinning(servers: number, cores = os.availableParallelism()): Pinning {
  if (cores <= servers || !hasTaskset()) {
    return {
      server: () => undefined,
      others: undefined,
      description: `not pinned (${cores} cores for ${servers} server process(es)${hasTaskset() ? '' : ', no taskset'})`,
    };
  }
  const others = servers === cores - 1 ? String(servers) : `${servers}-${cores - 1}`;
  return {
    server: (i) => String(i),
    others,
    description:
      servers === 1
        ? `server on core 0, load generator and PostgreSQL's backends on core ${others} (taskset)`
        : `server i on core i (0–${servers - 1}), load generator and PostgreSQL's backends on ${others} (taskset)`,
  };
}

/**
 * Moves processes (every thread: `-a`) onto `cpus`. The bench's own process is one; PostgreSQL
 * backends serving the provider are pinned before each measured run, as the pool opens them lazily.
 * A process that is gone or not ours to move is left as it is.
 */
export function pinProcesses(pids: Iterable<number>, cpus: string | undefined): void {
  if (cpus === undefined) return;
  for (const pid of pids) {
    try {
      execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
    } catch {
      // gone meanwhile, or another user's
    }
  }
}
