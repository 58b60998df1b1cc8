import type { Context } from 'koa';
import type { z } from 'zod';
import { type AppError, BadInput, shownOnForm, TooManyRequests } from '../errors.js';
import { field, rawField } from './body.js';

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

/**
 * A form's fields, read at the edge (each through `field`, or `rawField` for the secrets named in
 * `raw`, which are not trimmed) and validated by a zod schema, as the admin API validates its
 * JSON: the first problem becomes a BadInput with the schema's own (Chinese) message.
 */
export function formInput<Shape extends z.ZodRawShape>(
  ctx: Context,
  schema: z.ZodObject<Shape>,
  raw: readonly (keyof Shape & string)[] = [],
): z.output<z.ZodObject<Shape>> {
  const values = Object.fromEntries(
    Object.keys(schema.shape).map((name) => [
      name,
      raw.includes(name) ? rawField(ctx, name) : field(ctx, name),
    ]),
  );
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new BadInput(parsed.error.issues[0]?.message ?? '请求格式不正确');
  return parsed.data;
}
