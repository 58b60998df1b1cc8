/**
 * Which family of algorithms protects data at rest, the audit chain and cookies. `standard` is
 * AES-256-GCM with SHA-256; `gm` is 商用密码 for 密评 (GB/T 39786-2021): SM4 (GB/T 32907) with
 * HMAC-SM3 (GB/T 32905, GB/T 15852.2). Tokens for relying parties stay JOSE in both (README: 密评).
 */
export const CRYPTO_PROFILES = ['standard', 'gm'] as const;
export type CryptoProfile = (typeof CRYPTO_PROFILES)[number];

/** The hash each profile keys its MACs and HKDF with (node:crypto names, OpenSSL 3). */
export function hashOf(profile: CryptoProfile): 'sha256' | 'sm3' {
  return profile === 'gm' ? 'sm3' : 'sha256';
}

export function otherProfile(profile: CryptoProfile): CryptoProfile {
  return profile === 'gm' ? 'standard' : 'gm';
}
