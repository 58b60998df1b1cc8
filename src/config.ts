import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CRYPTO_PROFILES, type CryptoProfile } from './crypto/profile.js';
import { type AlipaySettings, alipaySettings } from './outside/alipay/settings.js';

/**
 * Every setting of the provider. This module is the only reader of process.env:
 * the rest of the code receives a validated Config.
 */
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list of OIDs (empty by default). */
const oidList = z
  .string()
  .default('')
  .refine(
    (v) => v.split(',').every((o) => !o.trim() || /^\d+(\.\d+)+$/.test(o.trim())),
    'a comma-separated list of OIDs',
  );
/**
 * TRUST_PROXY: how many proxies in front of the process append to X-Forwarded-For. The client's
 * address is the entry that many places from the right: whatever a client writes further left is
 * its own claim. `true` means one proxy (the load balancer of deploy/nginx.conf), never "trust
 * every entry", which would let any client choose the address its limits are counted on.
 */
const proxyHops = z
  .string()
  .default('false')
  .transform((v, ctx) => {
    const value = v.trim().toLowerCase();
    if (['false', 'no', '0', ''].includes(value)) return 0;
    if (['true', 'yes'].includes(value)) return 1;
    if (/^[1-9]$/.test(value)) return Number(value);
    ctx.addIssue({
      code: 'custom',
      message: 'the number of proxies in front of the provider (1 to 9), true (one) or false (none)',
    });
    return z.NEVER;
  });

const oidsOf = (list: string) =>
  list
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUER: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  // At least 2: start-up holds one connection for an advisory lock while another does the work.
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).default(10),
  COOKIE_KEYS: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((k) => k.trim()))
    .refine((keys) => !keys || keys.every((k) => k.length >= 32), 'each key must be at least 32 characters'),
  DATA_ENCRYPTION_KEY: z
    .string()
    .optional()
    .refine((v) => !v || Buffer.from(v, 'base64').length === 32, 'must be 32 bytes in base64'),
  // 密评 (GB/T 39786-2021): gm seals, indexes, links the audit chain and signs cookies with SM3/SM4.
  CRYPTO_PROFILE: z.enum(CRYPTO_PROFILES).default('standard'),
  SSO_SESSION_TTL: seconds(8 * 3600),
  ACCOUNT_IDLE_TIMEOUT: seconds(30 * 60),
  // 等保 2.0 登录连接超时自动退出: the console's idle end may be shorter than 15 minutes, never longer.
  CONSOLE_IDLE_TIMEOUT: seconds(15 * 60).refine((v) => v <= 15 * 60, 'at most 900 (15 minutes)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: proxyHops,
  TOKEN_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  DEMO_CLIENT: flag(true),
  KEY_REFRESH_SECONDS: seconds(10),
  SHUTDOWN_GRACE_SECONDS: seconds(20),
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(1000),
  ALLOW_PRIVATE_NETWORK_CALLBACKS: z.enum(['true', 'false']).optional(),
  CERTS_DIR: z.string().min(1).default('certs'),
  // The 证书助手 answers only the Host 127.0.0.1:<port> (a name such as localhost could be
  // rebound to it), so the pages must call it by that address.
  CERT_BRIDGE_URL: z
    .url()
    .default('http://127.0.0.1:41443')
    .refine(
      (v) => /^http:\/\/127\.0\.0\.1:\d{1,5}\/?$/.test(v),
      'must be http://127.0.0.1:<port> (the helper answers no other Host)',
    ),
  SOFTWARE_CERTIFICATES: z.enum(['true', 'false']).default('true'),
  // The 证书助手's installers served at /helper/ (what `npm run helper:build` writes).
  HELPER_DIR: z.string().min(1).default('dist/helper'),
  CERT_CREDIT_CODE_OIDS: oidList,
  HARDWARE_CERT_POLICY_OIDS: oidList,
  SMS_GATEWAY: z.enum(['dev', 'http']).optional(),
  SMS_GATEWAY_URL: z.url().optional(),
  SMS_GATEWAY_APP_ID: z.string().min(1).optional(),
  SMS_GATEWAY_SECRET: z.string().min(16).optional(),
  SMS_GATEWAY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  IDENTITY_VERIFIER: z.enum(['dev', 'http']).optional(),
  IDENTITY_VERIFIER_URL: z.url().optional(),
  IDENTITY_VERIFIER_APP_ID: z.string().min(1).optional(),
  IDENTITY_VERIFIER_SECRET: z.string().min(16).optional(),
  IDENTITY_VERIFIER_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  ENTERPRISE_VERIFIER: z.enum(['dev', 'http']).optional(),
  ENTERPRISE_VERIFIER_URL: z.url().optional(),
  ENTERPRISE_VERIFIER_APP_ID: z.string().min(1).optional(),
  ENTERPRISE_VERIFIER_SECRET: z.string().min(16).optional(),
  ENTERPRISE_VERIFIER_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  ALIPAY_APP_ID: z.string().optional(),
  ALIPAY_PRIVATE_KEY: z.string().optional(),
  ALIPAY_PUBLIC_KEY: z.string().optional(),
  ALIPAY_APP_CERT: z.string().optional(),
  ALIPAY_PUBLIC_CERT: z.string().optional(),
  ALIPAY_ROOT_CERT: z.string().optional(),
  ALIPAY_GATEWAY: z.url().optional(),
  ALIPAY_AUTHORIZE_URL: z.url().optional(),
  ALIPAY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  // --- abuse limits (README.md, Security: limits against abuse): counted in the database, shared by every process ---
  SMS_CHECKS_PER_IP_PER_HOUR: z.coerce.number().int().positive().default(100),
  IDENTITY_CHECKS_PER_ACCOUNT_PER_DAY: z.coerce.number().int().positive().default(5),
  IDENTITY_CHECKS_PER_IP_PER_DAY: z.coerce.number().int().positive().default(20),
  IDENTITY_VERIFIER_DAILY_LIMIT: z.coerce.number().int().positive().default(10000),
  ACCOUNT_PHONE_CODES_PER_DAY: z.coerce.number().int().positive().default(5),
  // --- /metrics (README.md, Configuration): a private listener, a bearer token, or both ---
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(16).optional(),
  AUDIT_CHECKPOINT_DIR: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_URL: z.url().optional(),
  // 等保 2.0 asks for at least six months of audit records.
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(180, 'must be at least 180 (six months)').default(180),
});

export interface OutsideHttpService {
  kind: 'http';
  url: string;
  appId: string;
  secret: string;
  timeoutMs: number;
  retries: number;
}
export type OutsideService = { kind: 'dev' } | OutsideHttpService;

/** An outside service's settings; `dev` is the default only outside production. */
function outsideService(
  prefix: 'SMS_GATEWAY' | 'IDENTITY_VERIFIER' | 'ENTERPRISE_VERIFIER',
  e: z.infer<typeof envSchema>,
  production: boolean,
  problems: string[],
): OutsideService {
  const kind = e[prefix] ?? (production ? 'http' : 'dev');
  if (kind === 'dev') {
    if (production) problems.push(`${prefix}=dev: development implementations are refused in production`);
    return { kind: 'dev' };
  }
  const url = e[`${prefix}_URL`];
  const appId = e[`${prefix}_APP_ID`];
  const secret = e[`${prefix}_SECRET`];
  for (const [name, value] of [
    [`${prefix}_URL`, url],
    [`${prefix}_APP_ID`, appId],
    [`${prefix}_SECRET`, secret],
  ] as const) {
    if (!value) problems.push(`${name} is required when ${prefix}=http`);
  }
  return {
    kind: 'http',
    url: url ?? '',
    appId: appId ?? '',
    secret: secret ?? '',
    timeoutMs: e[`${prefix}_TIMEOUT_MS`],
    retries: 2,
  };
}

export type Environment = z.infer<typeof envSchema>['NODE_ENV'];

export interface Config {
  env: Environment;
  port: number;
  host: string;
  issuer: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  cookieKeys: string[];
  dataEncryptionKey: Buffer;
  /** Which algorithms protect data at rest, the audit chain and cookies (README: 密评). */
  cryptoProfile: CryptoProfile;
  ssoSessionTtl: number;
  accountIdleTimeout: number;
  /** Seconds without a request after which the console's session ends, held in the database. */
  consoleIdleTimeout: number;
  logLevel: string;
  /**
   * Proxies in front of the process (0: none, X-Forwarded-* ignored). With n, the client's address
   * is the n-th X-Forwarded-For entry from the right, and X-Forwarded-Proto/-Host are trusted.
   */
  proxyHops: number;
  /** Per client on /token, shared by every process (counted in memory, flushed each second). */
  tokenRequestsPerMinute: number;
  /** Development implementations, /dev/ routes and the demo relying party. */
  devMode: boolean;
  demoClient: boolean;
  keyRefreshSeconds: number;
  shutdownGraceSeconds: number;
  /** After SIGTERM, keep accepting (with /readyz at 503) this long so the load balancer moves away. */
  shutdownDrainMs: number;
  /**
   * Let the provider call sites (back-channel logout, jwks_uri) at loopback and private
   * addresses. Off in production unless the sites live on a private government network.
   */
  allowPrivateNetworkCallbacks: boolean;
  sms: OutsideService;
  identityVerifier: OutsideService;
  enterpriseVerifier: OutsideService;
  /** Trust anchors (certs/), intermediates and CRLs for certificate login; certs/dev only outside production. */
  certsDir: string;
  /** Where the page finds the local PKCS#11 bridge (also allowed in the CSP's connect-src). */
  certBridgeUrl: string;
  /** Offer signing with a PKCS#12 file in the page (amr swk); production may switch it off. */
  softwareCertificates: boolean;
  /** The folder of the 证书助手's installers, listed at /helper/ (it may not exist yet: none offered). */
  helperDir: string;
  /** Extra certificate fields (subject attributes or extensions) that carry the credit code, by OID. */
  certCreditCodeOids: string[];
  /** certificatePolicies OIDs that CAs put on certificates issued on USB keys: those sign in with amr hwk. */
  hardwareCertPolicyOids: string[];
  /** 支付宝登录 and 支付宝认证; undefined (no button) unless ALIPAY_APP_ID, the app key and Alipay's key or certificates are set. */
  alipay: AlipaySettings | undefined;
  /** Abuse limits beyond the fixed ones README.md lists under Security; each counted per day (Beijing time) or hour. */
  limits: AbuseLimits;
  /** Where /metrics is served: see MetricsAccess. */
  metrics: MetricsAccess;
  audit: AuditSettings;
}

export interface AbuseLimits {
  /** SMS code entries from one address, over all phones. */
  smsChecksPerIpPerHour: number;
  /** 实名认证 attempts (name + ID number) per account, and per address. */
  identityChecksPerAccountPerDay: number;
  identityChecksPerIpPerDay: number;
  /** Calls to the paid identity verification service, all accounts together. */
  identityVerifierDailyLimit: number;
  /** 用户空间: codes sent to a new phone number, per account. */
  accountPhoneCodesPerDay: number;
}

/**
 * /metrics: on a separate listener (`port` on `host`, loopback by default) and then not on the
 * public one; or on the public one only with the bearer `token`. With neither, production serves
 * it nowhere, and development serves it openly on the public listener.
 */
export interface MetricsAccess {
  port: number | undefined;
  host: string;
  token: string | undefined;
}

/** Where the audit sealer's signed checkpoints go besides the log, and how long rows are kept. */
export interface AuditSettings {
  /** One file per checkpoint, outside the database's reach (another disk, a WORM mount). */
  checkpointDir: string | undefined;
  /** Each checkpoint is also POSTed here (application/jose), e.g. a timestamping or archive service. */
  checkpointUrl: string | undefined;
  /** Rows younger than this are never archived or removed. */
  retentionDays: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface DevSecrets {
  cookieKeys: string[];
  dataEncryptionKey: string;
}

/** Development secrets are made once and kept beside the embedded database, so restarts keep sessions. */
function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  } catch {
    const secrets: DevSecrets = {
      cookieKeys: [randomBytes(32).toString('base64url')],
      dataEncryptionKey: randomBytes(32).toString('base64'),
    };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
    return secrets;
  }
}

function isDirectoryOrAbsent(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function isLocalhost(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.DATA_DIR);
  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');

  const problems: string[] = [];
  const sms = outsideService('SMS_GATEWAY', e, production, problems);
  const identityVerifier = outsideService('IDENTITY_VERIFIER', e, production, problems);
  const enterpriseVerifier = outsideService('ENTERPRISE_VERIFIER', e, production, problems);
  const alipay = alipaySettings(e, production, problems);
  if (production) {
    if (!e.COOKIE_KEYS) problems.push('COOKIE_KEYS is required in production');
    if (!e.DATA_ENCRYPTION_KEY) problems.push('DATA_ENCRYPTION_KEY is required in production');
    if (!e.DATABASE_URL)
      problems.push('DATABASE_URL is required in production (the embedded database is for development)');
    // The hash chain alone can not show its newest rows cut off (head set back with them): only a
    // signed checkpoint kept where the database's users can not write can (README: the audit log).
    if (!e.AUDIT_CHECKPOINT_DIR && !e.AUDIT_CHECKPOINT_URL)
      problems.push(
        "AUDIT_CHECKPOINT_DIR or AUDIT_CHECKPOINT_URL is required in production (the audit log's outside witness)",
      );
    const issuerUrl = new URL(issuer);
    if (issuerUrl.protocol !== 'https:' && !isLocalhost(issuerUrl)) {
      problems.push('ISSUER must be an https: URL in production');
    }
    if (env.DEMO_CLIENT && parsed.data.DEMO_CLIENT) {
      problems.push(
        'DEMO_CLIENT: the demo relying party is a development implementation and is refused in production',
      );
    }
  }
  const helperDir = path.resolve(e.HELPER_DIR);
  if (!isDirectoryOrAbsent(helperDir)) problems.push(`HELPER_DIR: ${helperDir} is not a directory`);
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);

  const needDevSecrets = !e.COOKIE_KEYS || !e.DATA_ENCRYPTION_KEY;
  const dev = needDevSecrets ? loadOrCreateDevSecrets(dataDir) : undefined;

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    issuer,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    cookieKeys: e.COOKIE_KEYS ?? dev!.cookieKeys,
    dataEncryptionKey: Buffer.from(e.DATA_ENCRYPTION_KEY ?? dev!.dataEncryptionKey, 'base64'),
    cryptoProfile: e.CRYPTO_PROFILE,
    ssoSessionTtl: e.SSO_SESSION_TTL,
    accountIdleTimeout: e.ACCOUNT_IDLE_TIMEOUT,
    consoleIdleTimeout: e.CONSOLE_IDLE_TIMEOUT,
    logLevel: e.LOG_LEVEL,
    proxyHops: e.TRUST_PROXY,
    tokenRequestsPerMinute: e.TOKEN_REQUESTS_PER_MINUTE,
    devMode: !production,
    demoClient: !production && e.DEMO_CLIENT,
    keyRefreshSeconds: e.KEY_REFRESH_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    allowPrivateNetworkCallbacks: (e.ALLOW_PRIVATE_NETWORK_CALLBACKS ?? String(!production)) === 'true',
    sms,
    identityVerifier,
    enterpriseVerifier,
    certsDir: path.resolve(e.CERTS_DIR),
    certBridgeUrl: e.CERT_BRIDGE_URL.replace(/\/$/, ''),
    softwareCertificates: e.SOFTWARE_CERTIFICATES === 'true',
    helperDir,
    certCreditCodeOids: oidsOf(e.CERT_CREDIT_CODE_OIDS),
    hardwareCertPolicyOids: oidsOf(e.HARDWARE_CERT_POLICY_OIDS),
    alipay,
    limits: {
      smsChecksPerIpPerHour: e.SMS_CHECKS_PER_IP_PER_HOUR,
      identityChecksPerAccountPerDay: e.IDENTITY_CHECKS_PER_ACCOUNT_PER_DAY,
      identityChecksPerIpPerDay: e.IDENTITY_CHECKS_PER_IP_PER_DAY,
      identityVerifierDailyLimit: e.IDENTITY_VERIFIER_DAILY_LIMIT,
      accountPhoneCodesPerDay: e.ACCOUNT_PHONE_CODES_PER_DAY,
    },
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST, token: e.METRICS_TOKEN },
    audit: {
      checkpointDir: e.AUDIT_CHECKPOINT_DIR ? path.resolve(e.AUDIT_CHECKPOINT_DIR) : undefined,
      checkpointUrl: e.AUDIT_CHECKPOINT_URL,
      retentionDays: e.AUDIT_RETENTION_DAYS,
    },
  };
}
