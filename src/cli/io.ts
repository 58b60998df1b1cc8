import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';

/**
 * Where one run of the command line reads its settings and writes its output. The process's
 * own streams and environment by default; a caller that runs commands in-process (the tests)
 * passes its own, so that no run changes `process.env` or `process.exitCode` for anyone else.
 */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface CliRun extends CliIo {
  console: Console;
  exitCode: number;
}

const runs = new AsyncLocalStorage<CliRun>();
let processRun: CliRun | undefined;

export function currentRun(): CliRun {
  const run = runs.getStore();
  if (run) return run;
  processRun ??= {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    console,
    exitCode: 0,
  };
  return processRun;
}

/** The environment the running command reads its configuration from. */
export const cliEnv = (): NodeJS.ProcessEnv => currentRun().env;
/** console.log/error/table of the running command. */
export const cliConsole = (): Console => currentRun().console;
/** The running command ends with this exit code (it keeps running; nothing exits here). */
export function failWith(code = 1) {
  currentRun().exitCode = code;
}

export function withIo<T>(io: CliIo, work: () => Promise<T>): Promise<{ result: T; exitCode: number }> {
  const run: CliRun = {
    ...io,
    console: new Console({ stdout: io.stdout, stderr: io.stderr }),
    exitCode: 0,
  };
  return runs.run(run, async () => ({ result: await work(), exitCode: run.exitCode }));
}

/**
 * Runs `work` outside the command's run, for what outlives the command: a server started inside
 * the run would carry it into every request, and AsyncLocalStorage copies a store onto every
 * promise made under it (each request makes hundreds), for a value no request reads.
 */
export function outsideRun<T>(work: () => T): T {
  return runs.exit(work);
}
