import type { Context } from 'koa';
import { type AppError, shownOnForm } from '../errors.js';

/**
 * The one rule for which errors a page shows itself: runs a form action (or a page script's
 * call); an error the person can act on (a 4xx, or an outside service that failed: 502/503) is
 * handed to `show` with its status set, and anything else goes on to the error handler.
 */
export async function onFormError<T>(
  ctx: Context,
  action: () => Promise<T>,
  show: (err: AppError) => unknown,
): Promise<T | undefined> {
  try {
    return await action();
  } catch (err) {
    if (!shownOnForm(err)) throw err;
    ctx.status = err.status;
    await show(err);
    return undefined;
  }
}

/** A page script's call: its answer as JSON, or `{error, error_description}` by the same rule. */
export async function jsonAnswer(ctx: Context, work: () => Promise<unknown>) {
  await onFormError(
    ctx,
    async () => {
      ctx.body = await work();
    },
    (err) => {
      ctx.body = { error: err.code, error_description: err.userMessage };
    },
  );
}
