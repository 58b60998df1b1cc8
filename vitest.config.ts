import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file starts its own server and database; two cores run two files at once.
    maxWorkers: 2,
    pool: 'forks',
    // One migrated embedded database per run, copied by each test that needs one.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
