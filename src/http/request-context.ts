import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { type Metrics, routeLabel } from '../ops/metrics.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

/** Request id, a child logger carrying it, and the request metrics. Never logs bodies or query strings. */
export function requestContext(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('x-request-id');
    const requestId = /^[\w-]{8,64}$/.test(header) ? header : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const route = routeLabel(ctx.path);
    const stop = metrics.latency.startTimer({ route });
    try {
      await next();
    } finally {
      const seconds = stop();
      metrics.requests.inc({ route, method: ctx.method, status: String(ctx.status) });
      if (route !== '/healthz' && route !== '/metrics') {
        ctx.state.log[ctx.status >= 500 ? 'error' : 'info'](
          { method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1000) },
          'request',
        );
      }
    }
  };
}
