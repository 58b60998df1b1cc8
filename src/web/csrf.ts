import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { CsrfRejected } from '../errors.js';
import { browserId } from './browser-id.js';

/**
 * Double-submit CSRF protection: each form carries an HMAC of the browser's id, which lives in
 * a signed, httpOnly cookie. A page of another origin can read neither.
 */
export class Csrf {
  constructor(private readonly key: Buffer) {}

  token(ctx: Context): string {
    return this.mac(browserId(ctx));
  }

  /** `submitted` is the form's field; a page script sends the token as X-CSRF-Token instead. */
  verify(ctx: Context, submitted: unknown): void {
    submitted = ctx.get('x-csrf-token') || submitted;
    if (typeof submitted !== 'string') throw new CsrfRejected();
    const expected = Buffer.from(this.mac(browserId(ctx)));
    const given = Buffer.from(submitted);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CsrfRejected();
  }

  private mac(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('base64url');
  }
}
