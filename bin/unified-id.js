#!/usr/bin/env node
// Runs the compiled CLI when the package was built (the Docker image), otherwise the
// TypeScript sources through tsx, so `npm start` needs no build step after `npm install`.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
