import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';

/**
 * A signing key that oidc-provider uses through its external-signing interface, signing with
 * node:crypto's synchronous `sign` and a KeyObject made once. Without it, every ID token and
 * JWT access token is signed by jose through WebCrypto: the private JWK imported again, a job
 * queued and a promise awaited per signature, which made ES256 signing the largest item of a JWT
 * access token's request. The JWS is the same (RFC 7515/7518: ES256 is the raw r‖s signature,
 * RS256 PKCS#1 v1.5 with SHA-256).
 */
export class NodeSigningKey extends ExternalSigningKey {
  readonly #kid: string;
  readonly #alg: 'ES256' | 'RS256';
  readonly #private: KeyObject;
  readonly #public: KeyObject;

  constructor(jwk: JWK & { kid: string; alg: string }) {
    super();
    if (jwk.alg !== 'ES256' && jwk.alg !== 'RS256') throw new Error(`no node signing for ${jwk.alg}`);
    this.#kid = jwk.kid;
    this.#alg = jwk.alg;
    this.#private = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    this.#public = createPublicKey(this.#private);
  }

  override get kid(): string {
    return this.#kid;
  }

  override get alg(): string {
    return this.#alg;
  }

  /** The public half: what oidc-provider publishes at /jwks and verifies its own tokens with. */
  override keyObject(): KeyObject {
    return this.#public;
  }

  override sign(data: Uint8Array): Uint8Array {
    return this.#alg === 'ES256'
      ? sign('sha256', data, { key: this.#private, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', data, this.#private);
  }
}
