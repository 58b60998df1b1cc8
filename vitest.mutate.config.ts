import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The test run each mutant gets (stryker.config.mjs): the project's, one file at a time, or only
// the files MUTATE_TESTS names (comma-separated) for a run on one module.
const only = process.env['MUTATE_TESTS']?.split(',').filter(Boolean);

export default defineConfig({
  test: {
    ...base.test,
    include: only?.length ? only : (base.test?.include ?? []),
    maxWorkers: 1,
  },
});
