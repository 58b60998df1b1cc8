import type { Context } from 'koa';
import { AppError } from '../errors.js';

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
