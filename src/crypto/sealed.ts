import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest (AES-256-GCM) and keyed-hash blind indexes, both derived from
 * DATA_ENCRYPTION_KEY with HKDF so that one configured secret serves distinct purposes.
 */
export class DataProtector {
  readonly #encryptionKey: Buffer;
  readonly #indexKey: Buffer;
  readonly #derivationRoot: Buffer;

  constructor(rootKey: Buffer) {
    if (rootKey.length !== 32) throw new Error('DATA_ENCRYPTION_KEY must be 32 bytes');
    this.#derivationRoot = rootKey;
    this.#encryptionKey = this.deriveKey('unified-id/aes-256-gcm');
    this.#indexKey = this.deriveKey('unified-id/blind-index');
  }

  /** A purpose-bound sub-key, e.g. the pairwise subject salt or the CSRF key. */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#derivationRoot, Buffer.alloc(0), purpose, 32));
  }

  /** `v1.<iv>.<ciphertext>.<tag>`; `context` is authenticated so a value can not be moved to another row. */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, ciphertext, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string, context = ''): string {
    const [version, iv, ciphertext, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || ciphertext === undefined || !tag) throw new Error('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** Deterministic lookup key for a sensitive value (ID number, name) without storing it in clear. */
  blindIndex(kind: string, value: string): string {
    return createHmac('sha256', this.#indexKey).update(`${kind}:${value}`).digest('base64url');
  }
}
