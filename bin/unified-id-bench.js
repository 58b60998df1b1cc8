#!/usr/bin/env node
// `npm run bench`: the load test in bench/ runs from its TypeScript sources through tsx, like the CLI
// does before a build (the bench is never compiled into dist/).
const { register } = await import('tsx/esm/api');
register();
await import(new URL('../bench/run.ts', import.meta.url).href);
