import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { CsrfRejected } from '../errors.js';
import { browserId } from './browser-id.js';

export interface CsrfKey {
  hash: 'sha256' | 'sm3';
  key: Buffer;
}

/**
 * Double-submit CSRF protection: each form carries an HMAC of the browser's id, which lives in
 * a signed, httpOnly cookie. A page of another origin can read neither.
 */
export class Csrf {
  /**
   * `keys`: the profile's HMAC and key first (HMAC-SM3 under CRYPTO_PROFILE=gm), then the other
   * profile's, accepted so that a form loaded just before a change of profile still submits.
   */
  constructor(private readonly keys: readonly [CsrfKey, ...CsrfKey[]]) {}

  token(ctx: Context): string {
    return this.mac(browserId(ctx));
  }

  /** `submitted` is the form's field; a page script sends the token as X-CSRF-Token instead. */
  verify(ctx: Context, submitted: unknown): void {
    submitted = ctx.get('x-csrf-token') || submitted;
    if (typeof submitted !== 'string') throw new CsrfRejected();
    const given = Buffer.from(submitted);
    const id = browserId(ctx);
    // The configured profile's key first: the other's HMAC is computed only for a form loaded
    // before a change of profile (or a wrong token), not on every submit.
    const matches = this.keys.some((key) => {
      const expected = Buffer.from(this.mac(id, key));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!matches) throw new CsrfRejected();
  }

  private mac(secret: string, { hash, key } = this.keys[0]): string {
    return createHmac(hash, key).update(secret).digest('base64url');
  }
}
