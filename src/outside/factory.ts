import type { Db } from '../db/database.js';
import { DevEnterpriseVerifier } from './enterprise/dev-verifier.js';
import { type EnterpriseVerifier, EnterpriseVerifierUnavailable } from './enterprise/enterprise-verifier.js';
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
  /** ENTERPRISE_VERIFIER and the same four settings; dev when absent (tests of other services). */
  enterpriseVerifier?: OutsideServiceSettings;
}

export interface OutsideServices {
  sms: SmsGateway;
  identity: IdentityVerifier;
  enterprise: EnterpriseVerifier;
}

/** Production without ENTERPRISE_VERIFIER settings (src/config.ts always gives them): fail loudly per use. */
const unconfiguredEnterpriseVerifier: EnterpriseVerifier = {
  kind: 'http',
  async verify() {
    throw new EnterpriseVerifierUnavailable('no enterprise verifier is configured');
  },
};

/**
 * Picks each outside service's implementation from configuration, never from test-only code
 * paths. Development implementations are refused in production, all offending settings named at
 * once so an operator fixes them in one go.
 */
export function createOutsideServices(settings: OutsideServicesSettings, db: Db): OutsideServices {
  const refused: string[] = [];
  if (settings.production && settings.sms.kind === 'dev') {
    refused.push('SMS_GATEWAY=dev (the development SMS outbox)');
  }
  if (settings.production && settings.identityVerifier.kind === 'dev') {
    refused.push('IDENTITY_VERIFIER=dev (the development identity verifier)');
  }
  const enterprise = settings.enterpriseVerifier ?? { kind: 'dev' };
  if (settings.production && settings.enterpriseVerifier?.kind === 'dev') {
    refused.push('ENTERPRISE_VERIFIER=dev (the development enterprise verifier)');
  }
  if (refused.length > 0) {
    throw new Error(
      `${refused.join(' and ')}: development implementations are refused in production (NODE_ENV=production); set it to http with its _URL, _APP_ID and _SECRET`,
    );
  }
  return {
    sms:
      settings.sms.kind === 'dev'
        ? new DevSmsOutbox(db, settings.production)
        : new HttpSmsGateway(settings.sms),
    identity:
      settings.identityVerifier.kind === 'dev'
        ? new DevIdentityVerifier(settings.production)
        : new HttpIdentityVerifier(settings.identityVerifier),
    enterprise:
      enterprise.kind === 'http'
        ? new HttpEnterpriseVerifier(enterprise)
        : settings.production
          ? unconfiguredEnterpriseVerifier
          : new DevEnterpriseVerifier(false),
  };
}
