import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { CsrfRejected } from '../errors.js';

const COOKIE = 'uid.csrf';

/**
 * Double-submit CSRF protection: a random value in a signed, httpOnly cookie, and in each
 * form an HMAC of it. A page of another origin can read neither.
 */
export class Csrf {
  constructor(private readonly key: Buffer) {}

  token(ctx: Context): string {
    let secret = ctx.cookies.get(COOKIE, { signed: true });
    if (!secret) {
      secret = randomBytes(18).toString('base64url');
      ctx.cookies.set(COOKIE, secret, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure });
    }
    return this.mac(secret);
  }

  verify(ctx: Context, submitted: unknown): void {
    const secret = ctx.cookies.get(COOKIE, { signed: true });
    if (!secret || typeof submitted !== 'string') throw new CsrfRejected();
    const expected = Buffer.from(this.mac(secret));
    const given = Buffer.from(submitted);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CsrfRejected();
  }

  private mac(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('base64url');
  }
}
