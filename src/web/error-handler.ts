import type { Context, Middleware } from 'koa';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, ServiceUnavailable, TooManyRequests } from '../errors.js';
import type { Views } from './views.js';

/** Browsers navigating or posting a form ask for text/html; API clients and fetch() do not. */
function wantsJson(ctx: Context): boolean {
  if (ctx.path.startsWith('/admin/api') || ctx.path.startsWith('/api/')) return true;
  if (ctx.path.startsWith('/dev/') && !ctx.path.startsWith('/dev/rp')) return true;
  return !ctx.get('accept').includes('text/html');
}

/** The one place where typed errors become HTTP: a Chinese page, or JSON for APIs. No stack traces leave. */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      let err: AppError;
      if (caught instanceof AppError) {
        err = caught;
      } else if (isDatabaseUnavailable(caught)) {
        err = new ServiceUnavailable(undefined, { cause: caught });
      } else if ((caught as { status?: number }).status === 413) {
        err = new AppError(413, 'payload_too_large', '提交的内容过大');
      } else if ((caught as { status?: number; expose?: boolean }).expose) {
        const c = caught as { status: number; message: string };
        err = new AppError(c.status, 'invalid_request', '请求无效');
      } else {
        ctx.state.log?.error({ err: caught }, 'unhandled error');
        err = new AppError(500, 'server_error', '系统繁忙，请稍后重试');
      }
      if (err.status >= 500 && err.status !== 503) ctx.state.log?.error({ err: caught }, 'server error');
      ctx.status = err.status;
      if (err instanceof TooManyRequests && err.retryAfterSeconds)
        ctx.set('Retry-After', String(err.retryAfterSeconds));
      if (err.status === 503) ctx.set('Retry-After', '5');
      if (wantsJson(ctx)) {
        ctx.body = { error: err.code, error_description: err.userMessage };
      } else {
        ctx.type = 'html';
        ctx.body = views.render('error', { title: '出错了', message: err.userMessage, status: err.status });
      }
    }
  };
}
