import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('..', import.meta.url);
/** What the Docker image runs: the compiled CLI (built by `npm run build` before the servers start). */
const BUILT = new URL('../dist/cli/main.js', import.meta.url);
const SOURCES = new URL('../bin/unified-id.js', import.meta.url);

/**
 * Compiles src/ into dist/ as the Dockerfile does, so the bench measures the code production
 * runs; the sources through tsx (BENCH_FROM_SOURCE=1) cost about 40 MiB more and a loader thread.
 */
export function buildServer(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

const OUTPUT_TAIL = 64 * 1024;

let clockTicks: number | undefined;

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (100 almost everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks =
        Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (all cores; not idle, not waiting for I/O), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident and peak resident memory of a process in MiB, from /proc/<pid>/status. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

export interface ServerProcess {
  pid: number;
  url: string;
  /** The last 64 KiB the server wrote to stdout and stderr (its whole output is in `logFile`). */
  output(): string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * `node dist/cli/main.js serve` (or the sources) in a child process, so the load generator has its own event loop
 * and the server's CPU and memory can be read per process. Resolves once /readyz answers 200.
 */
export async function startServerProcess(options: {
  env: Record<string, string>;
  port: number;
  logDir: string;
  /** The log file's name in logDir (default server.log). */
  logName?: string;
  readyTimeoutMs?: number;
  /** Extra node flags for the server, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Run src/ through tsx instead of the built dist/. */
  fromSource?: boolean;
  /** Another program than Unified ID (the ceiling, bench/ceiling-server.mjs), run with plain node. */
  script?: URL;
  /** Answers 200 once the server is ready (default /readyz). */
  readyPath?: string;
  /** The cores it may run on (`taskset -c`), e.g. "0"; it runs anywhere without. */
  cpus?: string | undefined;
}): Promise<ServerProcess> {
  const logFile = path.join(options.logDir, options.logName ?? 'server.log');
  const log = createWriteStream(logFile);
  let tail = '';
  const program = options.script
    ? [options.script.pathname]
    : [(options.fromSource ? SOURCES : BUILT).pathname, 'serve'];
  const command = [process.execPath, ...(options.nodeArgs ?? []), ...program];
  // taskset execs node in its own process: the pid (CPU, memory) is the server's.
  const pinned = options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command];
  const child: ChildProcess = spawn(pinned[0]!, pinned.slice(1), {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const record = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  let exited: { code: number | null; signal: string | null } | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  // Never leave a server behind, whatever way the bench ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    await new Promise<void>((resolve) => log.end(resolve));
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited) throw new Error(`the server exited during start-up (${JSON.stringify(exited)}):\n${tail}`);
      if (Date.now() > deadline) throw new Error(`the server did not become ready in time:\n${tail}`);
      try {
        const res = await fetch(`${url}${options.readyPath ?? '/readyz'}`, {
          signal: AbortSignal.timeout(2000),
        });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (!child.pid) throw new Error('the server process has no pid');
  return { pid: child.pid, url, output: () => tail, logFile, stop };
}
