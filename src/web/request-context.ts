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
    const requestId = header && /^[\w-]{8,64}$/.test(header) ? header : randomUUID();
    ctx.state.requestId = requestId;
    // The child logger is made when something logs: most requests (every /token) never do.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (log ??= logger.child({ requestId })),
      enumerable: true,
      configurable: true,
    });
    ctx.set('X-Request-Id', requestId);
    const route = routeLabel(ctx.path);
    const stop = metrics.latency.startTimer({ route });
    try {
      await next();
    } finally {
      const seconds = stop();
      metrics.requests.inc({ route, method: ctx.method, status: String(ctx.status) });
      const level = ctx.status >= 500 ? 'error' : 'info';
      if (route !== '/healthz' && route !== '/metrics' && logger.isLevelEnabled(level)) {
        ctx.state.log[level](
          { method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1000) },
          'request',
        );
      }
    }
  };
}
