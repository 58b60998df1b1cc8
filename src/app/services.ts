import type { Logger } from 'pino';
import { AccountService } from '../accounts/account-service.js';
import { AccountStore } from '../accounts/account-store.js';
import { IdentityCheckLimits } from '../accounts/identity-check-limits.js';
import { LegalPersonService } from '../accounts/legal-person-service.js';
import { LegalPersonStore } from '../accounts/legal-person-store.js';
import { LoginGuard } from '../accounts/login-guard.js';
import type { PasswordCost } from '../accounts/password-hasher.js';
import { PhoneChangeService } from '../accounts/phone-change-service.js';
import { RealNameService } from '../accounts/real-name-service.js';
import { RepresentativeConfirmations } from '../accounts/representative-confirmation.js';
import { TotpService } from '../accounts/totp-service.js';
import { TotpStore } from '../accounts/totp-store.js';
import { AdminQueries } from '../admin/admin-queries.js';
import { OperatorService } from '../admin/operator-service.js';
import { OperatorStore } from '../admin/operator-store.js';
import { CertificateService } from '../certificates/certificate-service.js';
import { CertificateStore } from '../certificates/certificate-store.js';
import { HardwareKeyPolicy } from '../certificates/hardware-key-policy.js';
import { ClientService } from '../clients/client-service.js';
import { ClientStore } from '../clients/client-store.js';
import type { Config } from '../config.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Db } from '../db/database.js';
import { AlipayLinkService } from '../federation/alipay-link-service.js';
import { AlipayLinkStore } from '../federation/alipay-link-store.js';
import { ConsentService } from '../oidc/consent-service.js';
import { ConsentStore } from '../oidc/consent-store.js';
import type { KeyMaker } from '../oidc/keys/key-service.js';
import { ModelStore } from '../oidc/model-store.js';
import { SessionMetaStore } from '../oidc/session-meta-store.js';
import { BatchedLimiter } from '../ops/batched-limiter.js';
import { CryptoMigration } from '../ops/crypto-migration.js';
import { CryptoStore } from '../ops/crypto-store.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { LIMITS, RateLimiter } from '../ops/rate-limiter.js';
import { Sweeper } from '../ops/sweeper.js';
import { HttpAlipayClient } from '../outside/alipay/client.js';
import { createOutsideServices } from '../outside/factory.js';
import { createCrlSource } from '../pki/crl.js';
import { DEV_HARDWARE_POLICY_OID } from '../pki/dev-policy.js';
import { createTrustStore } from '../pki/trust-store.js';
import { ResourceServerService } from '../resources/resource-server-service.js';
import { ResourceServerStore } from '../resources/resource-server-store.js';
import { FlowStates } from '../state/flow-state.js';
import { FlowStateStore } from '../state/flow-state-store.js';
import { CaptchaService } from '../verification/captcha-service.js';
import { CaptchaStore } from '../verification/captcha-store.js';
import { SmsCodeService } from '../verification/sms-code-service.js';
import { SmsCodeStore } from '../verification/sms-code-store.js';
import { createKeysAndAudit } from './audit-services.js';

/** What only the tests' servers choose: how signing keys are made, what a password hash costs. */
export interface ServiceOptions {
  makeKey?: KeyMaker;
  passwordCost?: PasswordCost;
}

/** Stores and services wired once; the server and the CLI share them, so both run the same code. */
export function createServices(config: Config, db: Db, log: Logger, options: ServiceOptions = {}) {
  const protector = new DataProtector(config.dataEncryptionKey, config.cryptoProfile);
  const rateLimits = new RateLimitStore(db);
  const limiter = new RateLimiter(rateLimits);
  const accountStore = new AccountStore(db);
  const legalPersonStore = new LegalPersonStore(db, accountStore);
  const accounts = new AccountService(accountStore, protector, legalPersonStore, options.passwordCost);
  const outside = createOutsideServices(
    {
      production: config.env === 'production',
      sms: config.sms,
      identityVerifier: config.identityVerifier,
      enterpriseVerifier: config.enterpriseVerifier,
    },
    db,
  );
  const flowStates = new FlowStates(new FlowStateStore(db), protector);
  // Loaded from certs/ at start-up (server.ts); empty until then, so nothing is trusted by accident.
  const trust = { store: createTrustStore({ anchors: [] }) };
  const certificateStore = new CertificateStore(db);
  const legalPersons = new LegalPersonService(legalPersonStore, accounts, outside.enterprise);
  const { keys, audit } = createKeysAndAudit(config, db, log, protector, options.makeKey);
  const sms = new SmsCodeService(new SmsCodeStore(db), outside.sms, limiter, protector, {
    phoneRegistered: async (phone) => (await accountStore.findByPhone(phone)) !== undefined,
    checksPerIpPerHour: config.limits.smsChecksPerIpPerHour,
    newPhoneCodesPerAccountPerDay: config.limits.accountPhoneCodesPerDay,
  });
  return {
    protector,
    cryptoMigration: new CryptoMigration(new CryptoStore(db), protector),
    legalPersons,
    audit,
    adminQueries: new AdminQueries(db),
    operators: new OperatorService(new OperatorStore(db), accounts, audit, outside.sms, log),
    sessionMeta: new SessionMetaStore(db),
    totp: new TotpService(new TotpStore(db), flowStates, protector),
    outside,
    models: new ModelStore(db),
    accounts,
    realName: new RealNameService(
      accountStore,
      accounts,
      outside.identity,
      new IdentityCheckLimits(limiter, {
        perAccountPerDay: config.limits.identityChecksPerAccountPerDay,
        perIpPerDay: config.limits.identityChecksPerIpPerDay,
        verifierPerDay: config.limits.identityVerifierDailyLimit,
      }),
      outside.sms,
    ),
    loginGuard: new LoginGuard(rateLimits),
    captcha: new CaptchaService(new CaptchaStore(db)),
    sms,
    representativeConfirmations: new RepresentativeConfirmations(legalPersons, sms, limiter, protector),
    phoneChanges: new PhoneChangeService(accounts, limiter, outside.sms),
    flowStates,
    // 支付宝登录 / 支付宝认证; `alipay.configured` is false (no button) without ALIPAY_* settings.
    alipay: new AlipayLinkService(
      new AlipayLinkStore(db, accountStore),
      accounts,
      protector,
      config.alipay ? new HttpAlipayClient(config.alipay) : undefined,
    ),
    trust,
    certificates: new CertificateService(
      certificateStore,
      flowStates,
      // `unified-id dev-ca` marks its SoftHSM2 certificates as hardware; trusted as such outside
      // production only, like certs/dev itself.
      new HardwareKeyPolicy(
        [...config.hardwareCertPolicyOids, ...(config.devMode ? [DEV_HARDWARE_POLICY_OID] : [])],
        config.softwareCertificates,
      ),
      () => trust.store,
      createCrlSource(),
      config.issuer,
      async (accountId) => (await legalPersonStore.find(accountId))?.credit_code,
    ),
    clients: new ClientService(new ClientStore(db), protector, config.env === 'production'),
    keys,
    resources: new ResourceServerService(new ResourceServerStore(db), protector, config.env === 'production'),
    consents: new ConsentService(new ConsentStore(db)),
    limiter,
    // Per client on /token: counted in memory, shared through the database once a second.
    tokenLimiter: new BatchedLimiter(rateLimits, {
      ...LIMITS.tokenPerClient,
      max: config.tokenRequestsPerMinute,
    }),
    sweeper: new Sweeper(db, log),
  };
}

export type Services = ReturnType<typeof createServices>;
