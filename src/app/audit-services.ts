import type { Logger } from 'pino';
import { AuditService } from '../audit/audit-service.js';
import { AuditStore } from '../audit/audit-store.js';
import type { Config } from '../config.js';
import { hashOf } from '../crypto/profile.js';
import type { DataProtector } from '../crypto/sealed.js';
import type { Db } from '../db/database.js';
import { type KeyMaker, KeyService } from '../oidc/keys/key-service.js';
import { KeyStore } from '../oidc/keys/key-store.js';

/**
 * The signing keys and the audit log, wired as every provider process has them. Apart from
 * createServices so that a process that only records events (the audit log's test of several
 * writers) starts without the rest.
 */
export function createKeysAndAudit(
  config: Config,
  db: Db,
  log: Logger,
  protector: DataProtector,
  makeKey?: KeyMaker,
) {
  const keys = new KeyService(new KeyStore(db), protector, makeKey);
  // Every process seals; the sealer's checkpoints are signed with the provider's keys.
  const audit = new AuditService(
    new AuditStore(db),
    {
      keys,
      issuer: config.issuer,
      dir: config.audit.checkpointDir,
      url: config.audit.checkpointUrl,
      log,
    },
    hashOf(config.cryptoProfile),
  );
  return { keys, audit };
}
