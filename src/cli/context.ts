import type { AdminActions } from '../admin/admin-actions.js';
import type { Services } from '../app/services.js';
import { type Config, loadConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { cliConsole, cliEnv, currentRun } from './io.js';

// The database drivers, the services and the admin actions are loaded when a command first needs
// them, not when the program is built: a command without a database (dev-alipay, dev-ca, bridge,
// --help) then starts without them, about half of a process's start (docs/suite-time.md).

/** Opens the configured database for one CLI command, runs it, and always closes it again. */
export async function withDatabase<T>(work: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(cliEnv());
  const { openDatabase } = await import('../db/database.js');
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await work(database.db, config);
  } finally {
    await database.close();
  }
}

/** The services on the configured database, for one CLI command. */
export async function withServices<T>(work: (services: Services, config: Config) => Promise<T>): Promise<T> {
  const [{ createServices }, { createLogger }, { migrate }] = await Promise.all([
    import('../app/services.js'),
    import('../ops/logger.js'),
    import('../db/migrate.js'),
  ]);
  return withDatabase(async (db, config) => {
    await migrate(db);
    return work(createServices(config, db, createLogger('warn')), config);
  });
}

/**
 * The admin API's actions, from the command line. No provider runs here to tell the sites by
 * back-channel logout: ending an account's sessions removes them and their tokens only.
 */
export async function withAdminActions<T>(work: (actions: AdminActions) => Promise<T>): Promise<T> {
  const [{ AdminActions }, { SessionRevoker }, { createLogger }] = await Promise.all([
    import('../admin/admin-actions.js'),
    import('../oidc/session-revoker.js'),
    import('../ops/logger.js'),
  ]);
  return withServices((s) =>
    work(
      new AdminActions({
        clients: s.clients,
        accounts: s.accounts,
        keys: s.keys,
        resources: s.resources,
        audit: s.audit,
        revoker: new SessionRevoker(s.models, undefined, createLogger('warn')),
      }),
    ),
  );
}

export function print(value: unknown, json: boolean) {
  if (json) {
    currentRun().stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  } else if (Array.isArray(value)) {
    cliConsole().table(value);
  } else {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      currentRun().stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
    }
  }
}
