import type { Db } from '../db/database.js';
import { DevEnterpriseVerifier } from './enterprise/dev-verifier.js';
import type { EnterpriseVerifier } from './enterprise/enterprise-verifier.js';
import { HttpEnterpriseVerifier } from './enterprise/http-verifier.js';
import { DevIdentityVerifier } from './identity/dev-verifier.js';
import { HttpIdentityVerifier } from './identity/http-verifier.js';
import type { IdentityVerifier } from './identity/identity-verifier.js';
import { DevSmsOutbox } from './sms/dev-outbox.js';
import { HttpSmsGateway } from './sms/http-gateway.js';
import type { SmsGateway } from './sms/sms-gateway.js';

/** One outside service's settings, as src/config.ts reads them from the environment. */
export type OutsideServiceSettings =
  | { kind: 'dev' }
  | { kind: 'http'; url: string; appId: string; secret: string; timeoutMs: number; retries?: number };

export interface OutsideServicesSettings {
  production: boolean;
  /** SMS_GATEWAY, SMS_GATEWAY_URL, SMS_GATEWAY_APP_ID, SMS_GATEWAY_SECRET, SMS_GATEWAY_TIMEOUT_MS. */
  sms: OutsideServiceSettings;
  /** IDENTITY_VERIFIER, IDENTITY_VERIFIER_URL, …_APP_ID, …_SECRET, …_TIMEOUT_MS. */
  identityVerifier: OutsideServiceSettings;
  /** ENTERPRISE_VERIFIER and the same four settings. */
  enterpriseVerifier: OutsideServiceSettings;
}

export interface OutsideServices {
  sms: SmsGateway;
  identity: IdentityVerifier;
  enterprise: EnterpriseVerifier;
}

/** How the production refusal names each setting whose development implementation it meets. */
const DEV_IMPLEMENTATIONS = {
  sms: 'SMS_GATEWAY=dev (the development SMS outbox)',
  identityVerifier: 'IDENTITY_VERIFIER=dev (the development identity verifier)',
  enterpriseVerifier: 'ENTERPRISE_VERIFIER=dev (the development enterprise verifier)',
} as const;

/**
 * Picks each outside service's implementation from configuration, never from test-only code
 * paths. Development implementations are refused in production, all offending settings named at
 * once so an operator fixes them in one go.
 */
export function createOutsideServices(settings: OutsideServicesSettings, db: Db): OutsideServices {
  const { production, sms, identityVerifier, enterpriseVerifier } = settings;
  if (production) {
    const refused = (Object.keys(DEV_IMPLEMENTATIONS) as (keyof typeof DEV_IMPLEMENTATIONS)[])
      .filter((service) => settings[service].kind === 'dev')
      .map((service) => DEV_IMPLEMENTATIONS[service]);
    if (refused.length > 0) {
      throw new Error(
        `${refused.join(' and ')}: development implementations are refused in production (NODE_ENV=production); set it to http with its _URL, _APP_ID and _SECRET`,
      );
    }
  }
  return {
    sms: sms.kind === 'dev' ? new DevSmsOutbox(db, production) : new HttpSmsGateway(sms),
    identity:
      identityVerifier.kind === 'dev'
        ? new DevIdentityVerifier(production)
        : new HttpIdentityVerifier(identityVerifier),
    enterprise:
      enterpriseVerifier.kind === 'dev'
        ? new DevEnterpriseVerifier(production)
        : new HttpEnterpriseVerifier(enterpriseVerifier),
  };
}
