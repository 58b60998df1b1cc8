import { type ChildProcess, type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { type Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nodeArgsFor } from './compiled-sources.js';

const BIN = fileURLToPath(new URL('../../bin/unified-id.js', import.meta.url));
const execFileAsync = promisify(execFile);

/**
 * `unified-id …` in a process of its own through the bin script, as `npm start` runs it (the
 * sources through tsx), run to its end; a failure rejects with its exit `code` and `stderr`.
 */
export function runCliProcess(args: string[], env: NodeJS.ProcessEnv) {
  return execFileAsync(process.execPath, [BIN, ...args], { env, timeout: 180_000 });
}

class Collected extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

/**
 * `unified-id …` run in this process (no node start, no module loading: seconds less per
 * command), with the same outcome as `runCliProcess`. Each command opens and closes the database
 * itself, so commands of one file run one after the other, never at once on one embedded database.
 */
export async function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const { runCli: run } = await import('../../src/cli/program.js');
  const stdout = new Collected();
  const stderr = new Collected();
  const code = await run(args, { env, stdout, stderr });
  const output = { stdout: stdout.text, stderr: stderr.text };
  if (code === 0) return output;
  throw Object.assign(new Error(`unified-id ${args.join(' ')} exited with ${code}: ${stderr.text}`), {
    code,
    ...output,
  });
}

/**
 * `unified-id …` left running (`serve`, `dev-alipay`), its output piped to the test: the bin
 * script's entry compiled for the run (test/support/compiled-sources.ts), which starts in less
 * CPU than the sources through tsx; with `asNpmStart`, the bin script itself, as `npm start`
 * runs it (the sources through tsx).
 */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { asNpmStart?: boolean } = {},
): ChildProcessByStdio<null, Readable, Readable> {
  const entry = options.asNpmStart ? [BIN] : nodeArgsFor('src/cli/main.ts');
  return spawn(process.execPath, [...entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** All the command has printed, once `ready` holds for it: a line may arrive in several chunks. */
export function outputUntil(
  child: ChildProcessByStdio<null, Readable, Readable>,
  ready: (output: string) => boolean,
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`${child.spawnargs.slice(2).join(' ')} did not start: ${output}`)),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (ready(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    });
  });
}

/** Sends SIGTERM, as an operator's service manager does, and resolves with the exit code. */
export function stop(child: ChildProcess): Promise<number | null> {
  // One that has already died would never send 'exit' again.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}
