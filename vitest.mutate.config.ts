import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The test run each mutant gets (stryker.config.mjs): the project's, one file at a time, or only
// the files MUTATE_TESTS names (comma-separated) for a run on one module. One project of its own:
// the projects of vitest.config.ts each have their own `include`, which would run every file.
const only = process.env['MUTATE_TESTS']?.split(',').filter(Boolean);
const { projects: _projects, ...common } = base.test ?? {};

export default defineConfig({
  test: {
    ...common,
    include: only?.length ? only : ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
