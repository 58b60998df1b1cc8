import { AsyncLocalStorage } from 'node:async_hooks';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { returnPath } from './return-path.js';

/**
 * 长辈模式 (大字版): larger text, stronger contrast and bigger controls, as public-service sites
 * are asked to offer. The choice lives in a cookie, and the switch is a plain link in every
 * page's header (GET /display), so it works without JavaScript.
 */
export const DISPLAY_COOKIE = 'uid.display';

export interface DisplayMode {
  elder: boolean;
  /** The header link: to the other mode, and back to this page. */
  switchUrl: string;
}

const current = new AsyncLocalStorage<DisplayMode>();

/** The display mode of the request being answered; Views adds it to every page it renders. */
export function currentDisplay(): DisplayMode | undefined {
  return current.getStore();
}

/** The switch returns to any page of the site; to 用户空间 when its `back` is refused. */
const SWITCH_RETURN = { within: '/', fallback: '/account' };

/**
 * Where the switch returns to: this page for a GET; for a page answering a form POST, the page
 * the form belongs to (reloading a POST address would not show the form).
 */
function pageOf(ctx: Context): string {
  if (ctx.method === 'GET') return ctx.originalUrl;
  const home = /^\/(interaction\/[\w-]+|account(?:\/[\w-]+)?)/.exec(ctx.path);
  return home ? `/${home[1]}` : ctx.path;
}

export function displayMode(): Middleware {
  return (ctx, next) => {
    const elder = ctx.cookies.get(DISPLAY_COOKIE) === 'elder';
    const back = encodeURIComponent(returnPath(pageOf(ctx), SWITCH_RETURN));
    return current.run(
      { elder, switchUrl: `/display?mode=${elder ? 'standard' : 'elder'}&back=${back}` },
      next,
    );
  };
}

export function displayRoutes(): Router {
  const router = new Router();
  router.get('/display', (ctx) => {
    const elder = ctx.query['mode'] === 'elder';
    ctx.cookies.set(DISPLAY_COOKIE, elder ? 'elder' : 'standard', {
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      maxAge: 365 * 24 * 3600 * 1000,
      overwrite: true,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(returnPath(ctx.query['back'], SWITCH_RETURN));
  });
  return router;
}
