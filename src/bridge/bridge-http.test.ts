import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildChallenge, challengeExpiry, newNonce } from '../pki/challenge.js';
import { startBridge } from './bridge-server.js';
import {
  type BridgeToken,
  PinIncorrect,
  PinLocked,
  type TokenCertificate,
  type TokenStatus,
} from './token.js';

// The HTTP layer alone, over a token that records what it was asked: shows that a refused request
// never reaches the token, which a real token can not tell us.

const ORIGIN = 'https://id.example.gov.cn';
/** A second provider the same helper serves (a province and its city, say). */
const OTHER_PROVIDER = 'https://id.xm.gov.cn';
const PIN = '123456';

class SpyToken implements BridgeToken {
  calls: string[] = [];
  pins: string[] = [];
  lockNext = false;
  info(): TokenStatus {
    this.calls.push('info');
    return { module: '/spy.so', library: 'spy', token: 'spy', slots: [] };
  }
  listCertificates(): TokenCertificate[] {
    this.calls.push('list');
    return [];
  }
  sign(_id: string, pin: string, data: Buffer): Buffer {
    this.calls.push('sign');
    this.pins.push(pin);
    if (this.lockNext) throw new PinLocked();
    if (pin !== PIN) throw new PinIncorrect();
    return Buffer.from(data).reverse();
  }
}

/** The challenge the provider at `issuer` would give its page, base64 as the page sends it. */
const challengeOf = (issuer: string) =>
  Buffer.from(
    buildChallenge({
      issuer,
      interactionId: 'Zt3vJ0tq0nBqNwZz',
      nonce: newNonce(),
      expiresAt: challengeExpiry(new Date()),
    }).text,
  ).toString('base64');

const signBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: '0a1b',
    pin: PIN,
    data: challengeOf(ORIGIN),
    algorithm: 'RSA-PSS-SHA256',
    ...overrides,
  });

/** node:http rather than fetch, which will not send a Host of our choosing. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'GET',
        headers: options.headers,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('证书助手 HTTP layer', () => {
  const token = new SpyToken();
  let clock = Date.parse('2026-12-06T08:00:00Z');
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let host: string;
  beforeAll(async () => {
    bridge = await startBridge({
      token,
      origins: [`${ORIGIN}/some/path`, OTHER_PROVIDER],
      port: 0,
      now: () => clock,
    });
    host = new URL(bridge.url).host;
  });
  afterAll(() => bridge.close());
  beforeEach(() => {
    token.calls = [];
    token.pins = [];
    token.lockNext = false;
  });

  const sign = (body: string, origin = ORIGIN) =>
    fetch(`${bridge.url}/v1/sign`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body,
    });

  it('listens on 127.0.0.1 only', () => {
    expect(new URL(bridge.url).hostname).toBe('127.0.0.1');
  });

  it('refuses other origins, a look-alike and no origin with 403, no CORS headers, and without touching the token', async () => {
    for (const origin of [
      'https://evil.example.com',
      'https://id.example.gov.cn.evil.com',
      'http://id.example.gov.cn',
      'https://id.example.gov.cn:8443',
      'null',
      '*',
      undefined,
    ]) {
      for (const [method, where] of [
        ['POST', '/v1/sign'],
        ['GET', '/v1/certificates'],
        ['GET', '/v1/status'],
        ['OPTIONS', '/v1/sign'],
      ] as const) {
        const res = await fetch(`${bridge.url}${where}`, {
          method,
          headers: { ...(origin ? { origin } : {}), 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: signBody() } : {}),
        });
        expect(res.status, `${origin} ${method} ${where}`).toBe(403);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        expect(await res.json()).toEqual({ error: 'origin_not_allowed' });
      }
    }
    expect(token.calls).toEqual([]);
  });

  it('refuses any Host but 127.0.0.1:<port> (a DNS-rebound name, localhost, no port) with 403 before the token, even from an allowed origin', async () => {
    const port = new URL(bridge.url).port;
    for (const badHost of [
      `localhost:${port}`,
      `rebind.attacker.example:${port}`,
      `7f000001.c0a80001.rbndr.us:${port}`,
      '127.0.0.1',
      `127.0.0.1:${Number(port) + 1}`,
      `[::1]:${port}`,
      `id.example.gov.cn:${port}`,
    ]) {
      for (const [method, where] of [
        ['POST', '/v1/sign'],
        ['GET', '/v1/certificates'],
        ['GET', '/v1/status'],
        ['OPTIONS', '/v1/sign'],
      ] as const) {
        const res = await raw(`${bridge.url}${where}`, {
          method,
          headers: { host: badHost, origin: ORIGIN, 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: signBody() } : {}),
        });
        expect(res.status, `${badHost} ${method} ${where}`).toBe(403);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.json).toEqual({ error: 'host_not_allowed' });
      }
    }
    // The same request with the helper's own Host is answered: the Host alone made the difference.
    const ok = await raw(`${bridge.url}/v1/status`, { headers: { host, origin: ORIGIN } });
    expect(ok.status).toBe(200);
    expect(token.calls).toEqual(['info']);
  });

  it('answers the allowed preflight with CORS for that origin only, and the Private Network Access opt-in', async () => {
    for (const origin of [ORIGIN, OTHER_PROVIDER]) {
      const res = await fetch(`${bridge.url}/v1/sign`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
          'access-control-request-private-network': 'true',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
      expect(res.headers.get('access-control-allow-private-network')).toBe('true');
    }
    expect(token.calls).toEqual([]);
  });

  it('reports status with the module and slots, with CORS for the asking origin and never *', async () => {
    const res = await fetch(`${bridge.url}/v1/status`, { headers: { origin: OTHER_PROVIDER } });
    expect(res.headers.get('access-control-allow-origin')).toBe(OTHER_PROVIDER);
    expect(await res.json()).toMatchObject({ ok: true, module: '/spy.so', slots: [] });
  });

  it('signs its provider’s login challenge for that provider’s page, and answers a locked PIN with pin_locked', async () => {
    const data = challengeOf(ORIGIN);
    const ok = await sign(signBody({ data }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      signature: Buffer.from(data, 'base64').reverse().toString('base64'),
    });
    const theirs = await sign(signBody({ data: challengeOf(OTHER_PROVIDER) }), OTHER_PROVIDER);
    expect(theirs.status).toBe(200);
    token.lockNext = true;
    const locked = await sign(signBody());
    expect(locked.status).toBe(423);
    expect(await locked.json()).toEqual({ error: 'pin_locked' });
  });

  it('signs no bytes but a login challenge: text, a hash, a near-miss challenge are refused before the token', async () => {
    const good = Buffer.from(challengeOf(ORIGIN), 'base64').toString('utf8');
    for (const bytes of [
      Buffer.from('hello'),
      Buffer.alloc(32, 0xab),
      Buffer.from(good.replace('cert-login', 'cert-bind')),
      Buffer.from(`${good} `),
      Buffer.from(`transfer 100000 CNY\n${good}`),
      Buffer.from(good.slice(0, -5)),
    ]) {
      const res = await sign(signBody({ data: bytes.toString('base64') }));
      expect(res.status, bytes.toString()).toBe(400);
      expect(await res.json()).toEqual({ error: 'not_a_login_challenge' });
    }
    expect(token.calls).toEqual([]);
  });

  it('refuses a challenge of another provider, even one the helper also serves, before the token', async () => {
    for (const [issuer, origin] of [
      ['https://evil.example.com', ORIGIN],
      ['https://id.example.gov.cn.evil.com', ORIGIN],
      ['http://id.example.gov.cn', ORIGIN],
      [OTHER_PROVIDER, ORIGIN],
      [ORIGIN, OTHER_PROVIDER],
    ] as const) {
      const res = await sign(signBody({ data: challengeOf(issuer) }), origin);
      expect(res.status, `${issuer} from ${origin}`).toBe(403);
      expect(await res.json()).toEqual({ error: 'challenge_of_another_provider' });
    }
    expect(token.calls).toEqual([]);
  });

  it('after three wrong PINs in a row, pauses without asking the token, longer each time, until a right PIN', async () => {
    for (let i = 0; i < 3; i++) expect((await sign(signBody({ pin: '000000' }))).status).toBe(401);
    expect(token.calls).toHaveLength(3);

    // Paused: neither a wrong nor the right PIN reaches the token.
    for (const pin of ['111111', PIN]) {
      const paused = await sign(signBody({ pin }));
      expect(paused.status).toBe(429);
      expect(await paused.json()).toEqual({ error: 'pin_tries_paused', retryAfter: 60 });
      expect(paused.headers.get('retry-after')).toBe('60');
      expect(paused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    }
    expect(token.calls).toHaveLength(3);

    clock += 60_000;
    expect((await sign(signBody({ pin: '222222' }))).status).toBe(401);
    const longer = await sign(signBody());
    expect(await longer.json()).toEqual({ error: 'pin_tries_paused', retryAfter: 120 });
    expect(token.pins).toEqual(['000000', '000000', '000000', '222222']);

    clock += 120_000;
    expect((await sign(signBody())).status).toBe(200);
    // A right PIN starts the count again: three more wrong ones before the next pause.
    for (let i = 0; i < 3; i++) expect((await sign(signBody({ pin: '000000' }))).status).toBe(401);
    expect((await sign(signBody())).status).toBe(429);
    clock += 60_000;
    expect((await sign(signBody())).status).toBe(200);
  });

  it('refuses malformed and oversized requests before the token sees them', async () => {
    for (const body of [
      'not json',
      '[]',
      signBody({ id: 'zz' }),
      signBody({ pin: '' }),
      signBody({ data: '***' }),
      signBody({ algorithm: undefined }),
    ]) {
      const res = await sign(body);
      expect(res.status, body).toBe(400);
    }
    const big = await sign(JSON.stringify({ id: '01', pin: '1', data: 'A'.repeat(20_000), algorithm: 'x' }));
    expect(big.status).toBe(413);
    expect(token.calls).toEqual([]);
  });
});
