import Router from '@koa/router';
import type { Context } from 'koa';
import { levelName } from '../accounts/levels.js';
import { shownOnForm } from '../errors.js';
import { field, parseBody } from '../http/body.js';
import {
  type AccountSession,
  type AccountSpaceDeps,
  accountSessionOf,
  signInUrl,
} from './account-context.js';
import { activityRoutes } from './activity-routes.js';
import { certificateSpaceRoutes } from './certificate-routes.js';
import { profileRoutes } from './profile-routes.js';
import { securityRoutes } from './security-routes.js';

declare module 'koa' {
  interface DefaultState {
    accountSession?: AccountSession;
  }
}

export function sessionOf(ctx: Context): AccountSession {
  return ctx.state.accountSession!;
}

/** Renders an account-space page with the navigation and the person's masked summary. */
export function show(ctx: Context, deps: AccountSpaceDeps, view: string, data: Record<string, unknown>) {
  const session = sessionOf(ctx);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = deps.views.render(view, {
    csrf: deps.csrf.token(ctx),
    me: deps.accounts.view(session.account),
    levelName,
    totpOn: !!session.account.totp_enabled_at,
    ...data,
  });
}

/** Runs an action; a typed error shows the page again with its message (and nothing changed). */
export async function act(
  ctx: Context,
  deps: AccountSpaceDeps,
  view: string,
  page: () => Promise<Record<string, unknown>>,
  action: () => Promise<unknown>,
) {
  try {
    return await action();
  } catch (err) {
    if (!shownOnForm(err)) throw err;
    ctx.status = err.status;
    show(ctx, deps, view, { ...(await page()), error: err.userMessage });
  }
}

/** 用户空间 at /account: signed in through the provider's own session, every change a CSRF-checked POST. */
export function accountRoutes(deps: AccountSpaceDeps): Router {
  const router = new Router({ prefix: '/account' });

  router.get('/callback', async (ctx) => {
    const state = String(ctx.query['state'] ?? '');
    const flow = state
      ? await deps.flowStates.get<{ returnTo: string }>(`account-login:${state}`)
      : undefined;
    if (state) await deps.flowStates.remove(`account-login:${state}`);
    if (ctx.query['error']) {
      ctx.redirect('/account/signed-out');
      return;
    }
    const returnTo = flow?.returnTo ?? '/account';
    ctx.redirect(returnTo.startsWith('/account') ? returnTo : '/account');
  });

  router.get('/signed-out', (ctx) => {
    ctx.type = 'html';
    ctx.body = deps.views.render('notice', {
      title: '用户空间',
      message: '您尚未登录，或登录已取消。',
      continueUrl: '/account',
    });
  });

  router.use(async (ctx, next) => {
    const session = await accountSessionOf(deps, ctx);
    if (!session || session === 'idle') {
      const returnTo = ctx.method === 'GET' ? ctx.originalUrl : '/account';
      ctx.redirect(await signInUrl(deps, returnTo, session === 'idle'));
      return;
    }
    ctx.state.accountSession = session;
    if (ctx.method === 'POST') {
      await parseBody(ctx, async () => {});
      // Forms send the token as a field; the certificate page's script as a header.
      deps.csrf.verify(ctx, ctx.get('x-csrf-token') || field(ctx, '_csrf'));
    }
    await next();
  });

  profileRoutes(router, deps);
  securityRoutes(router, deps);
  activityRoutes(router, deps);
  certificateSpaceRoutes(router, deps);

  router.get('/logout', async (ctx) => {
    const url = new URL(`${deps.issuer}/session/end`);
    url.searchParams.set('client_id', deps.accountSpaceClientId);
    url.searchParams.set('post_logout_redirect_uri', `${deps.issuer}/account`);
    ctx.redirect(url.href);
  });

  return router;
}
