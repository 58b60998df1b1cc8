import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files that need a fresh module graph of their own (docs/suite-time.md). `chain.test.ts` replaces
 * a module with `vi.mock` to count signature checks: in a worker where another file had already
 * loaded the real one, the count read 0 (one run in three with the files shuffled).
 */
const ISOLATED: string[] = ['src/pki/chain.test.ts'];

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    // Each test file starts its own server and database; two cores run two files at once.
    maxWorkers: 2,
    pool: 'forks',
    // One migrated embedded database per run, copied by each test that needs one. Declared here
    // only: the projects below do not extend this config, so it runs once, not once per project.
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'shared',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ISOLATED],
          // A worker keeps the modules it has loaded for the next file: the server, oidc-provider,
          // knex and PGlite are imported once per worker instead of once per file (most of a short
          // file's time). Nothing in src/ keeps state a test depends on between files.
          isolate: false,
        },
      },
      ...(ISOLATED.length > 0
        ? [{ test: { ...shared, name: 'isolated', include: ISOLATED, isolate: true } }]
        : []),
    ],
  },
});
