import Router from '@koa/router';
import { field, parseBody } from '../web/body.js';
import { returnPath } from '../web/return-path.js';
import { type AccountSpaceDeps, accountSessionOf, signInUrl } from './account-context.js';
import { activityRoutes } from './activity-routes.js';
import { certificateSpaceRoutes } from './certificate-routes.js';
import { profileRoutes } from './profile-routes.js';
import { securityRoutes } from './security-routes.js';

/** 用户空间 at /account: signed in through the provider's own session, every change a CSRF-checked POST. */
export function accountRoutes(deps: AccountSpaceDeps): Router {
  const router = new Router({ prefix: '/account' });

  router.get('/callback', async (ctx) => {
    const state = String(ctx.query['state'] ?? '');
    const flow = state ? await deps.flowStates.take('account-login', state) : undefined;
    if (ctx.query['error']) {
      ctx.redirect('/account/signed-out');
      return;
    }
    ctx.redirect(returnPath(flow?.returnTo, { within: '/account', fallback: '/account' }));
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
