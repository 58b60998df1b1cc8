import { createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { DataProtector } from '../../crypto/sealed.js';
import type { Db } from '../../db/database.js';
import type { KeyStore, SigningKeyRow } from './key-store.js';

/** ES256 signs ID tokens by default; RS256 is published for relying parties that need it. */
export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/**
 * How long a retired key stays published: longer than anything it signed can live
 * (ID tokens and logout tokens live one hour, JWKS caches a few minutes).
 */
const RETIRED_PUBLISH_SECONDS = 24 * 3600;

/** Makes the private key of a new signing key. */
export type KeyMaker = (alg: SigningAlg) => KeyObject;

/** A key no one has had before: what every deployment uses (the tests' servers reuse RSA keys made once). */
export const newKey: KeyMaker = (alg) =>
  alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

export interface KeyInfo {
  kid: string;
  alg: string;
  state: string;
  created_at: string;
  activated_at: string | null;
  retired_at: string | null;
  publish_until: string | null;
}

export class KeyService {
  constructor(
    private readonly store: KeyStore,
    private readonly protector: DataProtector,
    private readonly makeKey: KeyMaker = newKey,
  ) {}

  /** First start: one signing and one staged key per algorithm. Idempotent and race-free. */
  async ensureKeys(): Promise<void> {
    await this.store.exclusively(async (trx) => {
      for (const alg of SIGNING_ALGS) {
        if ((await this.store.byState(trx, alg, 'current')).length === 0) {
          await this.createKey(trx, alg, 'current');
        }
        if ((await this.store.byState(trx, alg, 'next')).length === 0) {
          await this.createKey(trx, alg, 'next');
        }
      }
    });
  }

  /**
   * The staged key (published since the last rotation) starts signing, the signing key is
   * retired but stays published, and a new key is staged: relying parties that cache the
   * JWKS always already know the key a token is signed with.
   */
  async rotate(): Promise<KeyInfo[]> {
    await this.store.exclusively(async (trx) => {
      const publishUntil = new Date(Date.now() + RETIRED_PUBLISH_SECONDS * 1000);
      for (const alg of SIGNING_ALGS) {
        const [next] = await this.store.byState(trx, alg, 'next');
        for (const current of await this.store.byState(trx, alg, 'current')) {
          await this.store.retire(trx, current.kid, publishUntil);
        }
        if (next) await this.store.promote(trx, next.kid);
        else await this.createKey(trx, alg, 'current');
        await this.createKey(trx, alg, 'next');
      }
    });
    return this.list();
  }

  async list(): Promise<KeyInfo[]> {
    return (await this.store.all()).map((r) => ({
      kid: r.kid,
      alg: r.alg,
      state: r.state,
      created_at: iso(r.created_at)!,
      activated_at: iso(r.activated_at),
      retired_at: iso(r.retired_at),
      publish_until: iso(r.publish_until),
    }));
  }

  /**
   * The private JWKS for oidc-provider. oidc-provider signs with the first key that fits the
   * algorithm, so the signing ('current') keys come first; staged and retired keys follow and
   * are only published. (key_ops can not express this: relying parties would refuse a
   * published key marked sign-only.)
   */
  async providerJwks(): Promise<{ keys: JWK[]; version: string }> {
    const rows = await this.store.published();
    const rank = (r: SigningKeyRow) => (r.state === 'current' ? 0 : 1);
    const keys = rows
      .sort((a, b) => rank(a) - rank(b))
      .map((r) => ({
        ...(JSON.parse(this.protector.open(r.private_jwk, `key:${r.kid}`)) as JWK),
        kid: r.kid,
        alg: r.alg,
        use: 'sig',
      }));
    return { keys, version: rows.map((r) => `${r.kid}:${r.state}`).join(',') };
  }

  /**
   * The public half of every key this deployment has made, retired ones included: a signed audit
   * checkpoint must stay checkable long after its key left /jwks.
   */
  async verificationKeys(): Promise<JWK[]> {
    return (await this.store.all()).map((r) => {
      const secret = JSON.parse(this.protector.open(r.private_jwk, `key:${r.kid}`)) as JWK;
      const pub = createPublicKey({ key: secret as JsonWebKey, format: 'jwk' }).export({ format: 'jwk' });
      return { ...(pub as JWK), kid: r.kid, alg: r.alg, use: 'sig' };
    });
  }

  version(): Promise<string> {
    return this.store.version();
  }

  private async createKey(trx: Db, alg: SigningAlg, state: 'current' | 'next') {
    const jwk = this.makeKey(alg).export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    await this.store.insert(trx, {
      kid,
      alg,
      state,
      private_jwk: this.protector.seal(JSON.stringify(jwk), `key:${kid}`),
    });
  }
}

function iso(d: Date | string | null): string | null {
  return d ? new Date(d).toISOString() : null;
}
