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

/** Waits for what finishBeforeResponse was given during this request. */
export async function settleBeforeResponse(ctx: Context): Promise<void> {
  await Promise.all((ctx.state as WithPending)[PENDING] ?? []);
}
