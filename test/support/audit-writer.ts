/**
 * A provider process as far as the audit log goes, without HTTP: the keys and audit log wired as
 * `unified-id serve` has them (the sealer running), recording audit events as fast as `AUDIT_WRITERS`
 * concurrent writers can. Appends `AUDIT_EVENTS` events and exits, or with `AUDIT_EVENTS=0`
 * appends until SIGTERM; then stops like the server does (the sealer's last pass) and prints
 * `appended <n>`. Run by test/e2e/audit-log.test.ts as a child process, with the same
 * environment a server would get (DATABASE_URL, DATA_ENCRYPTION_KEY…).
 */

import { createKeysAndAudit } from '../../src/app/audit-services.js';
import { loadConfig } from '../../src/config.js';
import { DataProtector } from '../../src/crypto/sealed.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/ops/logger.js';

const config = loadConfig();
const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 12 });
await migrate(database.db);
const protector = new DataProtector(config.dataEncryptionKey, config.cryptoProfile);
const services = createKeysAndAudit(config, database.db, createLogger('silent'), protector);
await services.keys.ensureKeys();
services.audit.sealer.start();

const total = Number(process.env['AUDIT_EVENTS'] ?? '0');
const writers = Number(process.env['AUDIT_WRITERS'] ?? '8');
let appended = 0;
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

await Promise.all(
  Array.from({ length: writers }, async (_, writer) => {
    while (!stopping && (total === 0 || appended < total)) {
      appended += 1;
      await services.audit.record({
        type: 'login',
        outcome: 'failure',
        detail: { pid: process.pid, writer },
      });
    }
  }),
);
await services.audit.sealer.stop();
await database.close();
process.stdout.write(`appended ${appended}\n`);
