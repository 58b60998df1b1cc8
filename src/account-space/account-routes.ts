import Router from '@koa/router';
import { type AccountSpaceDeps, accountSpaceGuard } from './account-context.js';
import { activityRoutes } from './activity-routes.js';
import { certificateSpaceRoutes } from './certificate-routes.js';
import { profileRoutes } from './profile-routes.js';
import { securityRoutes } from './security-routes.js';

/** 用户空间 at /account: signed in as any site is (src/first-party/), every change a CSRF-checked POST. */
export function accountRoutes(deps: AccountSpaceDeps): Router {
  const router = new Router({ prefix: '/account' });
  const guard = accountSpaceGuard(deps);

  router.get('/signed-out', (ctx) => {
    ctx.type = 'html';
    ctx.body = deps.views.render('notice', {
      title: '用户空间',
      message: '您尚未登录，或登录已取消。',
      continueUrl: '/account',
    });
  });

  // The callback, then every page below: signed in, and every POST CSRF-checked.
  guard.mount(router);

  profileRoutes(router, deps);
  securityRoutes(router, deps);
  activityRoutes(router, deps);
  certificateSpaceRoutes(router, deps);

  router.get('/logout', async (ctx) => {
    await guard.end(ctx);
    const url = new URL(`${deps.issuer}/session/end`);
    url.searchParams.set('client_id', deps.accountSpaceClientId);
    url.searchParams.set('post_logout_redirect_uri', `${deps.issuer}/account`);
    ctx.redirect(url.href);
  });

  return router;
}
