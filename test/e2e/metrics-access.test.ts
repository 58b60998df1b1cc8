import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestServer, type TestServer } from '../support/server.js';

describe('/metrics is not served to the public', () => {
  describe('with METRICS_PORT: a private listener on the loopback address', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: { METRICS_PORT: String(await freePort()) } });
    });
    afterAll(() => server?.close());

    it('serves Prometheus metrics there and nowhere on the public port', async () => {
      expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const address = server.server.address();
      expect(typeof address === 'object' && address?.port).not.toBe(Number(new URL(server.metricsUrl!).port));
      const res = await fetch(`${server.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('unified_id_http_requests_total');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      // The private listener answers nothing else.
      expect((await fetch(`${server.metricsUrl}/healthz`)).status).toBe(404);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });
  });

  describe('with METRICS_TOKEN: the public port asks for the bearer token', () => {
    const token = 'metrics-token-of-some-length-0123';
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: { METRICS_TOKEN: token } });
    });
    afterAll(() => server?.close());

    it('refuses no token and a wrong one, and serves the right one', async () => {
      const noToken = await fetch(`${server.url}/metrics`);
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
      expect(await noToken.text()).not.toContain('unified_id_');
      const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain('unified_id_http_requests_total');
    });
  });
});
