import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { MetricsAccess } from '../config.js';
import type { Metrics } from './metrics.js';

/**
 * Who may read /metrics on the public listener: nobody when a private listener serves it (or in
 * production without a token), bearers of METRICS_TOKEN when one is set, anyone in development.
 */
export type PublicMetrics = 'none' | 'token' | 'open';

export function publicMetrics(access: MetricsAccess, production: boolean): PublicMetrics {
  if (access.port !== undefined) return 'none';
  if (access.token) return 'token';
  return production ? 'none' : 'open';
}

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The private listener: /metrics only, on METRICS_HOST:METRICS_PORT (loopback by default), for a
 * Prometheus beside the process. With METRICS_TOKEN set, it asks for the token too.
 */
export async function startMetricsListener(
  metrics: Metrics,
  access: MetricsAccess & { port: number },
): Promise<Server> {
  const server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (access.token && !bearerMatches(req.headers.authorization, access.token)) {
      res
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain; charset=utf-8' })
        .end('unauthorized\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.port, access.host, () => resolve());
  });
  return server;
}
