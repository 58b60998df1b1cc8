import type { Context } from 'koa';
import { AppError, TooManyRequests } from '../errors.js';

/**
 * JSON answers for a page script, whatever its Accept header says: typed errors become
 * `{error, error_description}` with their status; anything else goes on to the error handler.
 */
export async function jsonAnswer(ctx: Context, work: () => Promise<unknown>) {
  try {
    ctx.body = await work();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    ctx.status = err.status;
    ctx.body = { error: err.code, error_description: err.userMessage };
  }
}

/** A page's script asking in the background (获取验证码): it wants JSON, not the page. */
export function wantsJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}

/** A typed error as the JSON a page's script reads: its message, and when to try again. */
export function jsonError(ctx: Context, err: AppError) {
  ctx.set('Cache-Control', 'no-store');
  ctx.status = err.status;
  ctx.body = {
    error: err.code,
    error_description: err.userMessage,
    ...(err instanceof TooManyRequests && err.retryAfterSeconds
      ? { retry_after: err.retryAfterSeconds }
      : {}),
  };
}
