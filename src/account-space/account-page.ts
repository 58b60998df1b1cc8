import type { Context } from 'koa';
import { levelName } from '../accounts/levels.js';
import { actOnPage, drawPage, type PageData } from '../web/page-kit.js';
import type { AccountSession, AccountSpaceDeps } from './account-context.js';

// The account space's pages: a leaf module that account-routes.ts and the pages' own route
// files share (they used to import it from account-routes.ts, which imports them: a cycle).

declare module 'koa' {
  interface DefaultState {
    accountSession?: AccountSession;
  }
}

export function sessionOf(ctx: Context): AccountSession {
  return ctx.state.accountSession!;
}

/** Renders an account-space page with the navigation and the person's masked summary. */
export function show(
  ctx: Context,
  deps: Pick<AccountSpaceDeps, 'views' | 'csrf' | 'accounts'>,
  view: string,
  data: PageData,
) {
  const session = sessionOf(ctx);
  drawPage(ctx, deps, view, {
    me: deps.accounts.view(session.account),
    levelName,
    totpOn: !!session.account.totp_enabled_at,
    ...data,
  });
}

/**
 * Runs an action through the page kit (actOnPage): a typed error shows the page again with each
 * problem beside its field (and nothing changed), or, to the page's script (获取验证码 in the
 * background), answers it as JSON.
 */
export function act(
  ctx: Context,
  deps: Pick<AccountSpaceDeps, 'views' | 'csrf' | 'accounts'>,
  view: string,
  page: () => Promise<PageData>,
  action: () => Promise<unknown>,
) {
  return actOnPage(ctx, (data) => show(ctx, deps, view, data), page, action);
}
