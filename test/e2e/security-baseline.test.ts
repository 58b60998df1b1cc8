import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import { loginPage, randomPhone, registerRelyingParty, signIn } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Zhao-Liu#2024';

describe('the security baseline a citizen relies on without seeing it', () => {
  let server: TestServer;
  let phone: string;

  beforeAll(async () => {
    server = await startTestServer();
    phone = (await addCitizen(server, PASSWORD)).phone;
  });
  afterAll(() => server?.close());

  it('serves pages with a strict CSP, no framing, nosniff and no referrer', async () => {
    const page = await loginPage(server, new UserAgent());
    const h = page.headers;
    const csp = h.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('cache-control')).toContain('no-store');
    // Every input has a label.
    for (const [, id] of page.body.matchAll(/<input[^>]*\bid="([^"]+)"/g)) {
      expect(page.body).toContain(`<label for="${id}">`);
    }
  });

  it('sets httpOnly, signed, SameSite=Lax session cookies', async () => {
    const ua = new UserAgent();
    const rp = await registerRelyingParty(server, { firstParty: true });
    const setCookies: string[] = [];
    const original = ua.request.bind(ua);
    ua.request = async (url, init) => {
      const res = await original(url, init);
      setCookies.push(...res.headers.getSetCookie());
      return res;
    };
    await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
    const session = setCookies.find((c) => c.startsWith('uid.session='));
    expect(session).toBeDefined();
    expect(session).toMatch(/httponly/i);
    expect(session).toMatch(/samesite=lax/i);
    expect(setCookies.some((c) => c.startsWith('uid.session.sig='))).toBe(true);
  });

  it('refuses a login form posted without its CSRF token, from another site', async () => {
    const ua = new UserAgent();
    const page = await loginPage(server, ua);
    const res = await ua.post(formAction(page.body, '/login', page.url), {
      login: phone,
      password: PASSWORD,
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain('页面已过期或请求来源无效');
    const forged = await ua.post(formAction(page.body, '/login', page.url), {
      _csrf: 'forged-token',
      login: phone,
      password: PASSWORD,
    });
    expect(forged.status).toBe(403);
  });

  it('throttles password guessing from one address, counted in the database', async () => {
    const ua = new UserAgent();
    let page = await loginPage(server, ua);
    const action = formAction(page.body, '/login', page.url);
    let throttled = false;
    for (let i = 0; i < 70 && !throttled; i++) {
      page = await ua.post(action, {
        _csrf: hiddenField(page.body, '_csrf'),
        login: randomPhone(),
        password: 'x',
      });
      throttled = page.status === 429;
    }
    expect(throttled).toBe(true);
    expect(page.body).toContain('操作过于频繁');
    const counters = await server.database.db('rate_limits').where('key', 'like', 'login:ip:%');
    expect(counters.length).toBeGreaterThan(0);
  });

  it('exposes health, readiness and Prometheus metrics with logins by outcome', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/unified_id_logins_total\{method="password",outcome="success"\} \d+/);
    expect(metrics).toMatch(/unified_id_logins_total\{method="password",outcome="failure"\} \d+/);
    expect(metrics).toMatch(
      /unified_id_http_request_duration_seconds_bucket\{le="[\d.]+",route="\/interaction\/:uid"\}/,
    );
  });

  it('sweeps expired rows in batches', async () => {
    const db = server.database.db;
    await db('oidc_models').insert(
      Array.from({ length: 30 }, (_, i) => ({
        model: 'Session',
        id: `expired-${i}`,
        payload: '{}',
        expires_at: new Date(Date.now() - 1000),
      })),
    );
    await server.services.sweeper.sweepOnce();
    const left = await db('oidc_models')
      .where('id', 'like', 'expired-%')
      .count<{ count: number }[]>('* as count');
    expect(Number(left[0]!.count)).toBe(0);
  });
});
