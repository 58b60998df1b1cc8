import { runHelper } from './cli.js';

// The entry of the single executable (a CommonJS bundle): no top-level await, so the exit code
// is set once the command resolves; while serving, the listening socket keeps the process alive.
runHelper(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`unified-id-helper: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
