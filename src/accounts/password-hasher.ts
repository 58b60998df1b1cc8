import { createHmac } from 'node:crypto';
import argon2 from 'argon2';
import type { CryptoProfile } from '../crypto/profile.js';

/** What one argon2id hash costs: memory in KiB, and passes over it. */
export interface PasswordCost {
  memoryCost: number;
  timeCost: number;
}

/** argon2id at OWASP's recommended minimum cost (19 MiB, 2 passes; RFC 9106); hashes made with other parameters are redone at login. */
export const ARGON2_PARAMS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** The prefix of a hash whose password went through HMAC-SM3 with the pepper before argon2id. */
const SM3_PEPPERED = 'hmac-sm3$';

/**
 * Stored passwords. Under CRYPTO_PROFILE=gm the password is first keyed with HMAC-SM3 under a
 * pepper derived from DATA_ENCRYPTION_KEY (never stored in the database), then hashed with
 * argon2id as before: the keyed SM3 layer is what a 密评 asks of stored authentication data
 * (GB/T 39786-2021 8.4, confidentiality and integrity of stored 鉴别数据 with 商用密码), the memory-hard
 * argon2id keeps offline guessing dear. A hash of the other kind is still verified, and redone
 * in the configured kind at the next successful login (README: 密评).
 */
export class PasswordHasher {
  readonly #params: Omit<typeof ARGON2_PARAMS, keyof PasswordCost> & PasswordCost;
  // Verified against when no account matches, so that an unknown login costs the same time.
  #dummyHash: Promise<string> | undefined;

  /** `cost`: a deployment's is always ARGON2_PARAMS'; the tests' servers hash at a smaller one. */
  constructor(
    private readonly profile: CryptoProfile,
    private readonly pepper: Buffer,
    cost: PasswordCost = ARGON2_PARAMS,
  ) {
    this.#params = { ...ARGON2_PARAMS, ...cost };
  }

  async hash(password: string): Promise<string> {
    if (this.profile !== 'gm') return argon2.hash(password, this.#params);
    return `${SM3_PEPPERED}${await argon2.hash(this.#peppered(password), this.#params)}`;
  }

  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    if (!hash) {
      this.#dummyHash ??= argon2.hash('unified-id-dummy-password', this.#params);
      await argon2.verify(await this.#dummyHash, password).catch(() => false);
      return false;
    }
    if (hash.startsWith(SM3_PEPPERED))
      return argon2.verify(hash.slice(SM3_PEPPERED.length), this.#peppered(password)).catch(() => false);
    return argon2.verify(hash, password).catch(() => false);
  }

  needsRehash(hash: string): boolean {
    const peppered = hash.startsWith(SM3_PEPPERED);
    if (peppered !== (this.profile === 'gm')) return true;
    return argon2.needsRehash(peppered ? hash.slice(SM3_PEPPERED.length) : hash, this.#params);
  }

  #peppered(password: string): Buffer {
    return createHmac('sm3', this.pepper).update(password, 'utf8').digest();
  }
}
