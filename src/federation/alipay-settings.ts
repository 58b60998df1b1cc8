import type { KeyObject } from 'node:crypto';
import { DEFAULT_ALIPAY_AUTHORIZE_URL, DEFAULT_ALIPAY_GATEWAY_URL } from '../outside/alipay/client.js';
import { AlipayKeyError, parseAlipayKeys } from '../outside/alipay/keys.js';

/** 支付宝登录 and 支付宝认证 are offered only when these are complete (ALIPAY_APP_ID and both keys). */
export interface AlipaySettings {
  appId: string;
  /** The app's private key (应用私钥): signs gateway requests. */
  privateKey: KeyObject;
  /** Alipay's public key (支付宝公钥): verifies every answer. */
  alipayPublicKey: KeyObject;
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
  ALIPAY_GATEWAY?: string | undefined;
  ALIPAY_AUTHORIZE_URL?: string | undefined;
  ALIPAY_TIMEOUT_MS?: number | undefined;
}

/**
 * Alipay's settings, or undefined when Alipay is not configured (none of the app id and keys set).
 * A partial or unusable setting is a start-up problem naming the variable, never the key material:
 * finding out at the first citizen's login would be worse.
 */
export function alipaySettings(
  v: AlipayVariables,
  production: boolean,
  problems: string[],
): AlipaySettings | undefined {
  const given = (value: string | undefined) => (value ?? '').trim() !== '';
  const required = ['ALIPAY_APP_ID', 'ALIPAY_PRIVATE_KEY', 'ALIPAY_PUBLIC_KEY'] as const;
  const present = required.filter((name) => given(v[name]));
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
  let keys: ReturnType<typeof parseAlipayKeys> | undefined;
  try {
    keys = parseAlipayKeys(v);
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
