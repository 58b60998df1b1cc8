import type { OutsideService } from '../config.js';
import type { Db } from '../db/database.js';
import { DevIdentityVerifier } from './identity/dev-verifier.js';
import { HttpIdentityVerifier } from './identity/http-verifier.js';
import type { IdentityVerifier } from './identity/identity-verifier.js';
import { DevSmsOutbox } from './sms/dev-outbox.js';
import { HttpSmsGateway } from './sms/http-gateway.js';
import type { SmsGateway } from './sms/sms-gateway.js';

/** Picks each outside service's implementation from configuration; never from test-only code paths. */
export function createOutsideServices(
  settings: { production: boolean; sms: OutsideService; identityVerifier: OutsideService },
  db: Db,
): { sms: SmsGateway; identity: IdentityVerifier } {
  return {
    sms:
      settings.sms.kind === 'dev'
        ? new DevSmsOutbox(db, settings.production)
        : new HttpSmsGateway(settings.sms),
    identity:
      settings.identityVerifier.kind === 'dev'
        ? new DevIdentityVerifier(settings.production)
        : new HttpIdentityVerifier(settings.identityVerifier),
  };
}
