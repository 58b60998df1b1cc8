import client from 'prom-client';

/** One registry per process; /metrics exposes it for Prometheus. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'unified_id_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'unified_id_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly logins = new client.Counter({
    name: 'unified_id_logins_total',
    help: 'Login attempts by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }
}

/**
 * A low-cardinality route label: ids in paths (interaction uids, client ids) are folded,
 * so metrics do not grow with traffic.
 */
export function routeLabel(path: string): string {
  if (path.startsWith('/interaction/')) return '/interaction/:uid';
  if (path.startsWith('/static/')) return '/static';
  const known = [
    '/auth',
    '/token',
    '/token/introspection',
    '/token/revocation',
    '/me',
    '/jwks',
    '/request',
    '/session/end',
    '/session/end/confirm',
    '/session/end/success',
    '/.well-known/openid-configuration',
    '/healthz',
    '/readyz',
    '/metrics',
  ];
  if (known.includes(path)) return path;
  if (path.startsWith('/auth/')) return '/auth/:uid';
  if (path.startsWith('/dev/')) return '/dev';
  if (path.startsWith('/account')) return '/account';
  if (path.startsWith('/admin')) return '/admin';
  return 'other';
}
