import { createServices, type Services } from '../app/services.js';
import { type Config, loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../ops/logger.js';
import { cliConsole, cliEnv, currentRun } from './io.js';

/** Opens the configured database for one CLI command, runs it, and always closes it again. */
export async function withServices<T>(work: (services: Services, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(cliEnv());
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database.db);
    return await work(createServices(config, database.db, createLogger('warn')), config);
  } finally {
    await database.close();
  }
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
