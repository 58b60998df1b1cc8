import Keygrip from 'keygrip';
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
  const signing = new Keygrip([...keys], COOKIE_HMAC[profile]);
  const other = new Keygrip([...keys], COOKIE_HMAC[profile === 'gm' ? 'standard' : 'gm']);
  const index = (data: string, digest: string) => {
    const i = signing.index(data, digest);
    return i !== -1 ? i : other.index(data, digest);
  };
  return {
    sign: (data) => signing.sign(data),
    verify: (data, digest) => index(data, digest) !== -1,
    index,
  };
}

export function cookieHmacOf(profile: CryptoProfile): string {
  return `hmac-${COOKIE_HMAC[profile]}`;
}
