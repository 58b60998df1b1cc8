import Router from '@koa/router';
import type { Db } from '../db/database.js';
import type { Metrics } from './metrics.js';
import { bearerMatches, type PublicMetrics } from './metrics-access.js';

/** Liveness, readiness (the database answers) and, when `metricsAccess` allows, Prometheus metrics. */
export function opsRoutes(
  db: Db,
  metrics: Metrics,
  isStopping: () => boolean,
  metricsAccess: { mode: PublicMetrics; token?: string | undefined } = { mode: 'open' },
): Router {
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    if (isStopping()) {
      ctx.status = 503;
      ctx.body = { status: 'stopping' };
      return;
    }
    try {
      await Promise.race([
        db.raw('select 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('database timeout')), 2000).unref()),
      ]);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'database unavailable' };
    }
  });

  // Not for the public in production: served on a private listener, or to bearers of the token.
  if (metricsAccess.mode === 'none') return router;
  router.get('/metrics', async (ctx) => {
    if (
      metricsAccess.mode === 'token' &&
      !bearerMatches(ctx.get('authorization'), metricsAccess.token ?? '')
    ) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { error: 'unauthorized' };
      return;
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  return router;
}
