import argon2 from 'argon2';

/** argon2id at OWASP's recommended minimum cost (19 MiB, 2 passes; RFC 9106); hashes made with other parameters are redone at login. */
export const ARGON2_PARAMS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

// Verified against when no account matches, so that an unknown login costs the same time.
let dummyHash: Promise<string> | undefined;

export const passwordHasher = {
  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_PARAMS);
  },

  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    if (!hash) {
      dummyHash ??= argon2.hash('unified-id-dummy-password', ARGON2_PARAMS);
      await argon2.verify(await dummyHash, password).catch(() => false);
      return false;
    }
    return argon2.verify(hash, password).catch(() => false);
  },

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, ARGON2_PARAMS);
  },
};
