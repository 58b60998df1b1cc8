import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Router from '@koa/router';
import { apiRoutes } from './api-routes.js';
import { auditRoutes } from './audit-routes.js';
import { type ConsoleDeps, consoleGuard } from './console-context.js';
import { assertRole, homeOf, operatorOfCtx } from './console-kit.js';
import { keyRoutes } from './key-routes.js';
import { operatorRoutes } from './operator-routes.js';
import { siteRoutes } from './site-routes.js';
import { statsRoutes } from './stats-routes.js';
import { userRoutes } from './user-routes.js';

/** Apache ECharts from its npm package, served by the provider itself: no CDN, CSP stays script-src 'self'. */
const ECHARTS = createRequire(import.meta.url).resolve('echarts/dist/echarts.common.min.js');
let echarts: Buffer | undefined;

/**
 * 管理后台 at /console: the operators' console, a first-party site of the provider signed in
 * through /auth at acr mfa or cert. Every page and action is checked against the operator's one
 * role on the server (三员分立), every change is a CSRF-checked POST with a reason and one audit row.
 */
export function consoleRoutes(deps: ConsoleDeps): Router {
  const router = new Router({ prefix: '/console' });
  const guard = consoleGuard(deps);

  router.get('/assets/echarts.js', (ctx) => {
    echarts ??= readFileSync(ECHARTS);
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = echarts;
  });

  router.get('/signed-out', (ctx) => {
    ctx.type = 'html';
    ctx.body = deps.views.render('notice', {
      title: '管理后台',
      message: '您已退出管理后台，或登录已取消。',
      continueUrl: '/console/',
    });
  });

  // The callback, then every page below: an operator signed in afresh, every POST CSRF-checked.
  guard.mount(router);

  router.get('/', (ctx) => ctx.redirect(homeOf(operatorOfCtx(ctx).role)));

  router.get('/logout', async (ctx) => {
    await guard.end(ctx);
    const url = new URL(`${deps.issuer}/session/end`);
    url.searchParams.set('client_id', deps.consoleClientId);
    url.searchParams.set('post_logout_redirect_uri', `${deps.issuer}/console/signed-out`);
    ctx.redirect(url.href);
  });

  // Below here every path belongs to one role's page.
  router.use(async (ctx, next) => {
    assertRole(ctx);
    await next();
  });
  statsRoutes(router, deps);
  auditRoutes(router, deps);
  siteRoutes(router, deps);
  apiRoutes(router, deps);
  keyRoutes(router, deps);
  userRoutes(router, deps);
  operatorRoutes(router, deps);
  return router;
}
