import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

const COOKIE = 'uid.browser';

/**
 * A random id for this browser in a signed, httpOnly cookie. Captchas and CSRF tokens are bound
 * to it, so an answer or token from one browser is worthless in another.
 */
export function browserId(ctx: Context): string {
  let id = ctx.cookies.get(COOKIE, { signed: true });
  if (!id || !/^[\w-]{20,40}$/.test(id)) {
    id = randomBytes(18).toString('base64url');
    ctx.cookies.set(COOKIE, id, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      overwrite: true,
    });
  }
  return id;
}
