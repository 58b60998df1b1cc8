import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { type CryptoProfile, otherProfile } from './profile.js';

/** The algorithm a sealed value names in its first field; both are readable under either profile. */
export type SealAlgorithm = 'aes-256-gcm' | 'sm4-cbc+hmac-sm3';
/** The algorithm of a blind index: untagged values are HMAC-SHA-256, `sm3.` ones HMAC-SM3. */
export type IndexAlgorithm = 'hmac-sha256' | 'hmac-sm3';

const SEAL_TAG: Record<SealAlgorithm, string> = { 'aes-256-gcm': 'v1', 'sm4-cbc+hmac-sm3': 'sm4' };
const SEAL_OF_PROFILE: Record<CryptoProfile, SealAlgorithm> = {
  standard: 'aes-256-gcm',
  gm: 'sm4-cbc+hmac-sm3',
};
const INDEX_OF_PROFILE: Record<CryptoProfile, IndexAlgorithm> = { standard: 'hmac-sha256', gm: 'hmac-sm3' };
const SM3_INDEX_PREFIX = 'sm3.';

/** What a value sealed with each algorithm starts with (what `crypto status` and `migrate` match). */
export const SEAL_PREFIX: Record<SealAlgorithm, string> = {
  'aes-256-gcm': `${SEAL_TAG['aes-256-gcm']}.`,
  'sm4-cbc+hmac-sm3': `${SEAL_TAG['sm4-cbc+hmac-sm3']}.`,
};
/** What a blind index of each algorithm starts with: HMAC-SHA-256 indexes are untagged. */
export const INDEX_PREFIX: Record<IndexAlgorithm, string | undefined> = {
  'hmac-sha256': undefined,
  'hmac-sm3': SM3_INDEX_PREFIX,
};

const b64 = (b: Buffer) => b.toString('base64url');

/**
 * Encryption at rest and keyed-hash blind indexes, all derived from DATA_ENCRYPTION_KEY with HKDF
 * so that one configured secret serves distinct purposes. New values use the configured profile;
 * values of the other profile stay readable, so `unified-id crypto migrate` can move them while
 * the service runs.
 */
export class DataProtector {
  readonly profile: CryptoProfile;
  readonly #derivationRoot: Buffer;
  readonly #aesKey: Buffer;
  readonly #sha256IndexKey: Buffer;
  /** SM4's key is 128 bits (GB/T 32907); HKDF with SM3 (RFC 5869 over GB/T 32905) derives them all. */
  readonly #sm: { sm4: Buffer; mac: Buffer; index: Buffer };

  constructor(rootKey: Buffer, profile: CryptoProfile = 'standard') {
    if (rootKey.length !== 32) throw new Error('DATA_ENCRYPTION_KEY must be 32 bytes');
    this.profile = profile;
    this.#derivationRoot = rootKey;
    this.#aesKey = this.deriveKey('unified-id/aes-256-gcm');
    this.#sha256IndexKey = this.deriveKey('unified-id/blind-index');
    // Under both profiles: values of either kind are read under either (a change of profile).
    this.#sm = {
      sm4: this.#derive('sm3', 'unified-id/sm4-cbc', 16),
      mac: this.#derive('sm3', 'unified-id/hmac-sm3', 32),
      index: this.#derive('sm3', 'unified-id/blind-index-sm3', 32),
    };
  }

  get sealAlgorithm(): SealAlgorithm {
    return SEAL_OF_PROFILE[this.profile];
  }

  get indexAlgorithm(): IndexAlgorithm {
    return INDEX_OF_PROFILE[this.profile];
  }

  /**
   * A purpose-bound sub-key, e.g. the pairwise subject salt. Always HKDF-SHA-256: the keys derived
   * here must not change with the profile (a pairwise salt that changed would change every
   * relying party's subject identifiers).
   */
  deriveKey(purpose: string): Buffer {
    return this.#derive('sha256', purpose, 32);
  }

  /** A sub-key derived with the profile's hash (HKDF-SM3 under gm), for keys that may change with it. */
  deriveProfileKey(purpose: string, profile: CryptoProfile = this.profile): Buffer {
    return profile === 'gm' ? this.#derive('sm3', `${purpose}/sm3`, 32) : this.deriveKey(purpose);
  }

  #derive(hash: 'sha256' | 'sm3', purpose: string, length: number): Buffer {
    return Buffer.from(hkdfSync(hash, this.#derivationRoot, Buffer.alloc(0), purpose, length));
  }

  /**
   * `v1.<iv>.<ciphertext>.<tag>` (AES-256-GCM) or `sm4.<iv>.<ciphertext>.<mac>` (SM4-CBC, then
   * HMAC-SM3 over everything before the MAC and the context: encrypt-then-MAC, as there is no
   * SM4-GCM in OpenSSL). `context` is authenticated so a value can not be moved to another row.
   */
  seal(plaintext: string, context = '', algorithm: SealAlgorithm = this.sealAlgorithm): string {
    if (algorithm === 'sm4-cbc+hmac-sm3') {
      const iv = randomBytes(16);
      const cipher = createCipheriv('sm4-cbc', this.#sm.sm4, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const head = `${SEAL_TAG[algorithm]}.${b64(iv)}.${b64(ciphertext)}`;
      return `${head}.${b64(this.#sm4Mac(head, context))}`;
    }
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#aesKey, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join('.');
  }

  open(sealed: string, context = ''): string {
    const [tag, iv, ciphertext, mac, extra] = sealed.split('.');
    if (!iv || ciphertext === undefined || !mac || extra !== undefined) throw new Error('not a sealed value');
    if (tag === SEAL_TAG['sm4-cbc+hmac-sm3']) {
      // The MAC is checked before anything is decrypted: a padding oracle needs the decryption.
      const expected = this.#sm4Mac(`${tag}.${iv}.${ciphertext}`, context);
      const given = Buffer.from(mac, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new Error('sealed value failed its integrity check');
      const decipher = createDecipheriv('sm4-cbc', this.#sm.sm4, Buffer.from(iv, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    }
    if (tag !== SEAL_TAG['aes-256-gcm']) throw new Error('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.#aesKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(mac, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** The head (`sm4.<iv>.<ct>`, no newline possible) then the context after a newline: unambiguous. */
  #sm4Mac(head: string, context: string): Buffer {
    return createHmac('sm3', this.#sm.mac).update(head).update('\n').update(context).digest();
  }

  /** Re-seals a value of the other profile under this one; undefined when it already is. */
  reseal(sealed: string, context = ''): string | undefined {
    if (sealAlgorithmOf(sealed) === this.sealAlgorithm) return undefined;
    return this.seal(this.open(sealed, context), context);
  }

  /** Deterministic lookup key for a sensitive value (ID number, name) without storing it in clear. */
  blindIndex(kind: string, value: string, algorithm: IndexAlgorithm = this.indexAlgorithm): string {
    const mac = b64(this.keyedDigest(kind, value, algorithm));
    return algorithm === 'hmac-sm3' ? `${SM3_INDEX_PREFIX}${mac}` : mac;
  }

  /**
   * The configured profile's index first, then the other's: a lookup during a change of profile
   * finds rows written before it and rows already moved (`unified-id crypto migrate`).
   */
  blindIndexes(kind: string, value: string): string[] {
    const other = INDEX_OF_PROFILE[otherProfile(this.profile)];
    return [this.blindIndex(kind, value), this.blindIndex(kind, value, other)];
  }

  /** Whether a stored index is the value's, under the algorithm the stored index names. */
  indexMatches(stored: string, kind: string, value: string): boolean {
    const expected = Buffer.from(this.blindIndex(kind, value, indexAlgorithmOf(stored)));
    const given = Buffer.from(stored);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** The raw keyed digest behind a blind index, for uses that need bytes (never stored). */
  keyedDigest(kind: string, value: string, algorithm: IndexAlgorithm = this.indexAlgorithm): Buffer {
    const [hash, key] = algorithm === 'hmac-sm3' ? ['sm3', this.#sm.index] : ['sha256', this.#sha256IndexKey];
    return createHmac(hash, key).update(`${kind}:${value}`).digest();
  }
}

export function sealAlgorithmOf(sealed: string): SealAlgorithm | undefined {
  const tag = sealed.slice(0, sealed.indexOf('.'));
  return (Object.keys(SEAL_TAG) as SealAlgorithm[]).find((a) => SEAL_TAG[a] === tag);
}

export function indexAlgorithmOf(stored: string): IndexAlgorithm {
  return stored.startsWith(SM3_INDEX_PREFIX) ? 'hmac-sm3' : 'hmac-sha256';
}
