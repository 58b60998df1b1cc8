import type { Logger } from 'pino';
import { AccountService } from './accounts/account-service.js';
import { AccountStore } from './accounts/account-store.js';
import { ClientService } from './clients/client-service.js';
import { ClientStore } from './clients/client-store.js';
import type { Config } from './config.js';
import { DataProtector } from './crypto/sealed.js';
import type { Db } from './db/database.js';
import { ConsentService } from './oidc/consent-service.js';
import { ConsentStore } from './oidc/consent-store.js';
import { KeyService } from './oidc/keys/key-service.js';
import { KeyStore } from './oidc/keys/key-store.js';
import { ModelStore } from './oidc/model-store.js';
import { RateLimitStore } from './ops/rate-limit-store.js';
import { RateLimiter } from './ops/rate-limiter.js';
import { Sweeper } from './ops/sweeper.js';

/** Stores and services wired once; the server and the CLI share them, so both run the same code. */
export function createServices(config: Config, db: Db, log: Logger) {
  const protector = new DataProtector(config.dataEncryptionKey);
  const models = new ModelStore(db);
  const rateLimits = new RateLimitStore(db);
  return {
    protector,
    models,
    accounts: new AccountService(new AccountStore(db)),
    clients: new ClientService(new ClientStore(db), protector, config.env === 'production'),
    keys: new KeyService(new KeyStore(db), protector),
    consents: new ConsentService(new ConsentStore(db)),
    limiter: new RateLimiter(rateLimits),
    sweeper: new Sweeper(models, rateLimits, log),
  };
}

export type Services = ReturnType<typeof createServices>;
