import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { type RunningServer, startServer } from '../../src/app/server.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createPostgresDatabase, type DatabaseKind } from './databases.js';
import { copyEmbeddedTemplate, hasEmbeddedTemplate, runTempDir } from './embedded-template.js';
import { freePort } from './ports.js';
import { keyMakerFor } from './signing-keys.js';

export { freePort } from './ports.js';

export interface TestServer extends RunningServer {
  config: Config;
  issuer: string;
  /** Stops the server and removes its database. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  kind?: DatabaseKind;
  env?: Record<string, string>;
  /** Share another server's database and secrets: a second process of the same deployment. */
  sameDeploymentAs?: TestServer;
  /** The loopback port to listen on, for processes that must know each other's before they start. */
  port?: number;
  /**
   * Runs before the server starts, with its environment: the command line on its database, as an
   * operator would before the first start. The embedded database is then kept in DATA_DIR.
   */
  prepare?: (env: Record<string, string>) => Promise<void>;
  /** The sign-in methods, when not the registry's: a test registers a throw-away one beside them. */
  loginMethods?: NonNullable<Parameters<typeof startServer>[1]>['loginMethods'];
}

/**
 * What a password hash costs on the tests' servers: argon2id all the same, at 1 MiB and one pass
 * instead of a deployment's 19 MiB and two (about 1 ms instead of 50: the suite hashes and
 * verifies passwords some thousand times). The deployment's cost is checked in
 * src/accounts/password-hasher.test.ts; processes the tests start (the command line, `serve`)
 * hash at it.
 */
export const TEST_PASSWORD_COST = { memoryCost: 1024, timeCost: 1 };

/** The secrets every process of one deployment must share: pass them in `env` to each. */
export const deploymentSecrets = () => ({
  COOKIE_KEYS: randomBytes(32).toString('base64url'),
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
});

/** The number of rows in one of the server's tables (PostgreSQL counts them as strings). */
export async function rowCount(server: Pick<TestServer, 'database'>, table: string): Promise<number> {
  const [row] = await server.database.db(table).count({ n: '*' });
  return Number(row!.n);
}

/**
 * A real server on a free loopback port, as `npm start` would run it, on an in-memory PGlite
 * or on its own PostgreSQL database.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const kind = options.kind ?? 'pglite';
  const port = options.port ?? (await freePort());
  const dataDir = runTempDir('test-');
  const sibling = options.sameDeploymentAs;
  // A copy of the run's migrated embedded database: the server (and `prepare`'s commands) open it
  // as they would their own from an earlier start, without PGlite's initdb. Outside vitest (the
  // bench) there is none: the server makes its own, as on a first start.
  if (kind === 'pglite' && !sibling && !options.env?.['DATABASE_URL'] && hasEmbeddedTemplate())
    copyEmbeddedTemplate(dataDir);
  const postgres = kind === 'postgres' && !sibling ? await createPostgresDatabase() : undefined;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    ISSUER: sibling?.issuer ?? `http://localhost:${port}`,
    LOG_LEVEL: 'silent',
    KEY_REFRESH_SECONDS: '1',
    SHUTDOWN_DRAIN_MS: '0',
    ...(sibling
      ? {
          COOKIE_KEYS: sibling.config.cookieKeys.join(','),
          DATA_ENCRYPTION_KEY: sibling.config.dataEncryptionKey.toString('base64'),
        }
      : deploymentSecrets()),
    // The suite runs again under CRYPTO_PROFILE=gm (.ci/run): a deployment's processes share it.
    CRYPTO_PROFILE: sibling?.config.cryptoProfile ?? process.env['CRYPTO_PROFILE'] ?? 'standard',
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    ...(sibling?.config.databaseUrl ? { DATABASE_URL: sibling.config.databaseUrl } : {}),
    ...options.env,
    // Whatever `env` says (a compose file's, say): `url` and `close` rely on these.
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
  };
  await options.prepare?.(env);
  const config = loadConfig(env);
  const sharedDatabase: Database | undefined =
    sibling && !sibling.config.databaseUrl ? sibling.database : undefined;
  const running = await startServer(config, {
    logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    services: {
      // The same database (a second process of the deployment, a restart) keeps one key maker.
      makeKey: keyMakerFor(config.databaseUrl ?? sibling?.config.dataDir ?? dataDir),
      // Outside vitest (the benchmarks), what a deployment's password hash costs.
      ...(hasEmbeddedTemplate() ? { passwordCost: TEST_PASSWORD_COST } : {}),
    },
    ...(sharedDatabase ? { database: sharedDatabase } : {}),
    ...(options.loginMethods ? { loginMethods: options.loginMethods } : {}),
  });
  return {
    ...running,
    url: `http://localhost:${port}`,
    config,
    issuer: config.issuer,
    async close() {
      await running.stop();
      await postgres?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
