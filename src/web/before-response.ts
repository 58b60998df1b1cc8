import type { Context } from 'koa';

const PENDING = Symbol('work before the response');
type WithPending = { [PENDING]?: Promise<unknown>[] };

/**
 * Work an event handler starts (oidc-provider emits its events synchronously and does not wait)
 * that must be done before the browser hears the outcome: an audit row, for one.
 */
export function finishBeforeResponse(ctx: Context, work: Promise<unknown>): void {
  const state = ctx.state as WithPending;
  state[PENDING] ??= [];
  state[PENDING].push(work);
}

/**
 * What finishBeforeResponse was given during this request, to wait for; undefined for nearly
 * every request (/token, /userinfo), which then pays nothing.
 */
export function pendingBeforeResponse(ctx: Context): Promise<unknown> | undefined {
  const pending = (ctx.state as WithPending)[PENDING];
  return pending ? Promise.all(pending) : undefined;
}
