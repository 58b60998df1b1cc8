import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CryptoProfile } from './profile.js';

/** The HMAC each profile signs cookies with: keygrip's default (SHA-1) as before, SM3 under gm. */
const COOKIE_HMAC: Record<CryptoProfile, 'sha1' | 'sm3'> = { standard: 'sha1', gm: 'sm3' };

/** What the `cookies` module behind Koa and oidc-provider calls on its `keys` (keygrip's interface). */
export interface CookieKeygrip {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  index(data: string, digest: string): number;
}

/**
 * COOKIE_KEYS as a keygrip: signs with the profile's HMAC (the newest key first, as keygrip does)
 * and still accepts the other profile's signature, so that a change of CRYPTO_PROFILE does not sign
 * every browser out; such cookies end with their session (SSO_SESSION_TTL).
 */
export function cookieKeys(keys: readonly string[], profile: CryptoProfile): CookieKeygrip {
  const signing = COOKIE_HMAC[profile];
  const other = COOKIE_HMAC[profile === 'gm' ? 'standard' : 'gm'];
  const mac = (hash: string, key: string, data: string) =>
    createHmac(hash, key).update(data).digest('base64url');
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  const index = (data: string, digest: string) => {
    for (const hash of [signing, other]) {
      const i = keys.findIndex((key) => same(digest, mac(hash, key, data)));
      if (i !== -1) return i;
    }
    return -1;
  };
  return {
    sign: (data) => mac(signing, keys[0]!, data),
    verify: (data, digest) => index(data, digest) !== -1,
    index,
  };
}

export function cookieHmacOf(profile: CryptoProfile): string {
  return `hmac-${COOKIE_HMAC[profile]}`;
}
