// Mutation testing of the security-critical modules (docs/mutation-testing.md): each mutant is a
// small change to a protection, and a test must fail for it. `npm run mutate` runs them all, which
// takes hours on two cores: run it on a quiet machine. One module: `MUTATE=src/web/return-path.ts
// MUTATE_TESTS=src/web/return-path.test.ts npm run mutate`.

/** The modules whose every surviving mutant is a protection no test guards. */
const SECURITY_CRITICAL = [
  // sign-in core: the one door every login goes through, acr/amr, password lock-out
  'src/flows/complete-login.ts',
  'src/flows/assurance.ts',
  'src/accounts/login-guard.ts',
  // the provider's own sites: a code redeemed as any site's, sessions bound to the SSO session
  'src/first-party/sign-in.ts',
  'src/first-party/session-guard.ts',
  // CSRF and return paths
  'src/web/csrf.ts',
  'src/web/return-path.ts',
  // SMS codes and TOTP
  'src/verification/sms-code-service.ts',
  'src/verification/sms-code-store.ts',
  'src/accounts/totp-service.ts',
  'src/accounts/totp-store.ts',
  // abuse limits
  'src/ops/rate-limiter.ts',
  'src/ops/batched-limiter.ts',
  'src/ops/rate-limit-store.ts',
  // admin roles (三员分立)
  'src/access/operator-roles.ts',
  'src/admin/admin-auth.ts',
  'src/console/console-kit.ts',
  // token store: codes consumed once, grants revoked
  'src/oidc/model-store.ts',
  'src/oidc/prefetch-cache.ts',
  'src/oidc/token-context.ts',
  // audit chain
  'src/audit/audit-chain.ts',
  'src/audit/end-of-chain.ts',
  // certificate policy
  'src/certificates/hardware-key-policy.ts',
  'src/pki/chain.ts',
];

const only = process.env.MUTATE?.split(',').filter(Boolean);

export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: {
    configFile: 'vitest.mutate.config.ts',
    // Only the tests whose imports reach the mutated module run for it.
    related: !process.env.MUTATE_TESTS,
  },
  mutate: only?.length ? only : SECURITY_CRITICAL,
  coverageAnalysis: 'perTest',
  // The machine is shared: one test process unless told otherwise.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 120_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Stryker rewrites tsconfig.json's references for its sandbox through TypeScript's JavaScript
  // API, which TypeScript 7 no longer has; ours refers to nothing outside, so it needs no rewrite.
  tsconfigFile: 'tsconfig.stryker-none.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 100, low: 90, break: null },
};
