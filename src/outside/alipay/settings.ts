import type { KeyObject } from 'node:crypto';
import { ALIPAY_CERTIFICATE_VARIABLES, parseAlipayCertificates } from './certificates.js';
import {
  type AlipayCertificates,
  DEFAULT_ALIPAY_AUTHORIZE_URL,
  DEFAULT_ALIPAY_GATEWAY_URL,
} from './client.js';
import { AlipayKeyError, parseAlipayKeys, parseAlipayPrivateKey } from './keys.js';

/**
 * 支付宝登录 and 支付宝认证 are offered only when these are complete: ALIPAY_APP_ID, the app's
 * private key, and either Alipay's public key (公钥模式) or the three certificates (公钥证书模式).
 */
export interface AlipaySettings {
  appId: string;
  /** The app's private key (应用私钥): signs gateway requests. */
  privateKey: KeyObject;
  /** 公钥模式: Alipay's public key (支付宝公钥) verifies every answer. */
  alipayPublicKey?: KeyObject | undefined;
  /** 公钥证书模式: app certificate, Alipay's public certificate and Alipay's root certificate. */
  certificates?: AlipayCertificates | undefined;
  gatewayUrl: string;
  authorizeUrl: string;
  /** Each gateway call, whole: a slow Alipay ends the sign-in with a page, not a hung browser. */
  timeoutMs: number;
}

/** The ALIPAY_* variables, as src/config.ts has read them from the environment. */
export interface AlipayVariables {
  ALIPAY_APP_ID?: string | undefined;
  ALIPAY_PRIVATE_KEY?: string | undefined;
  ALIPAY_PUBLIC_KEY?: string | undefined;
  ALIPAY_APP_CERT?: string | undefined;
  ALIPAY_PUBLIC_CERT?: string | undefined;
  ALIPAY_ROOT_CERT?: string | undefined;
  ALIPAY_GATEWAY?: string | undefined;
  ALIPAY_AUTHORIZE_URL?: string | undefined;
  ALIPAY_TIMEOUT_MS?: number | undefined;
}

/**
 * Alipay's settings, or undefined when Alipay is not configured (none of the app id, keys and
 * certificates set). A partial or unusable setting is a start-up problem naming the variable,
 * never the key material: finding out at the first citizen's login would be worse.
 */
export function alipaySettings(
  v: AlipayVariables,
  production: boolean,
  problems: string[],
): AlipaySettings | undefined {
  const given = (name: keyof AlipayVariables) => String(v[name] ?? '').trim() !== '';
  const certificateMode = ALIPAY_CERTIFICATE_VARIABLES.some(given);
  if (certificateMode && given('ALIPAY_PUBLIC_KEY')) {
    // Two sources of Alipay's key: whichever won, the other would be silently ignored.
    problems.push(
      'ALIPAY_PUBLIC_KEY and ALIPAY_APP_CERT/ALIPAY_PUBLIC_CERT/ALIPAY_ROOT_CERT are the two key modes (公钥模式, 公钥证书模式): set one',
    );
    return undefined;
  }
  const required = [
    'ALIPAY_APP_ID',
    'ALIPAY_PRIVATE_KEY',
    ...(certificateMode ? ALIPAY_CERTIFICATE_VARIABLES : (['ALIPAY_PUBLIC_KEY'] as const)),
  ] as const;
  const present = required.filter(given);
  if (present.length === 0) return undefined;
  if (present.length < required.length) {
    for (const name of required.filter((n) => !present.includes(n))) {
      problems.push(
        `${name} is required when ${present.join(' and ')} ${present.length > 1 ? 'are' : 'is'} set`,
      );
    }
    return undefined;
  }
  const appId = (v.ALIPAY_APP_ID ?? '').trim();
  if (!/^\d{8,32}$/.test(appId)) problems.push('ALIPAY_APP_ID: must be the Alipay app’s APPID (digits)');
  let keys: Pick<AlipaySettings, 'privateKey' | 'alipayPublicKey' | 'certificates'> | undefined;
  try {
    if (certificateMode) {
      const privateKey = parseAlipayPrivateKey(v.ALIPAY_PRIVATE_KEY);
      keys = { privateKey, certificates: parseAlipayCertificates(v, privateKey) };
    } else {
      keys = parseAlipayKeys(v);
    }
  } catch (err) {
    if (!(err instanceof AlipayKeyError)) throw err;
    problems.push(err.message);
  }
  const gatewayUrl = v.ALIPAY_GATEWAY || DEFAULT_ALIPAY_GATEWAY_URL;
  const authorizeUrl = v.ALIPAY_AUTHORIZE_URL || DEFAULT_ALIPAY_AUTHORIZE_URL;
  if (production) {
    // Personal data travels on these: in production only over TLS.
    for (const [name, url] of [
      ['ALIPAY_GATEWAY', gatewayUrl],
      ['ALIPAY_AUTHORIZE_URL', authorizeUrl],
    ] as const) {
      if (new URL(url).protocol !== 'https:') problems.push(`${name} must be an https: URL in production`);
    }
  }
  if (!keys) return undefined;
  return { appId, ...keys, gatewayUrl, authorizeUrl, timeoutMs: v.ALIPAY_TIMEOUT_MS ?? 5000 };
}
