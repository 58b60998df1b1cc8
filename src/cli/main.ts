import { runCli } from './program.js';

// The bin script's entry: the exit code is set, not forced, so `serve` keeps running.
process.exitCode = await runCli(process.argv.slice(2));
