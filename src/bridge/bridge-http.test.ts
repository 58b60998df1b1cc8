import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBridge } from './bridge-server.js';
import { type BridgeToken, PinLocked, type TokenCertificate, type TokenStatus } from './token.js';

// The HTTP layer alone, over a token that records what it was asked: shows that a refused request
// never reaches the token, which a real token can not tell us.

const ORIGIN = 'https://id.example.gov.cn';

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
    return Buffer.from(data).reverse();
  }
}

describe('证书助手 HTTP layer', () => {
  const token = new SpyToken();
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  beforeAll(async () => {
    bridge = await startBridge({ token, origin: `${ORIGIN}/some/path`, port: 0 });
  });
  afterAll(() => bridge.close());
  beforeEach(() => {
    token.calls = [];
    token.pins = [];
    token.lockNext = false;
  });

  const signBody = JSON.stringify({
    id: '0a1b',
    pin: '123456',
    data: 'aGVsbG8=',
    algorithm: 'RSA-PSS-SHA256',
  });

  it('listens on 127.0.0.1 only', () => {
    expect(new URL(bridge.url).hostname).toBe('127.0.0.1');
  });

  it('refuses other origins, a look-alike and no origin with 403, no CORS headers, and without touching the token', async () => {
    for (const origin of [
      'https://evil.example.com',
      'https://id.example.gov.cn.evil.com',
      'http://id.example.gov.cn',
      'null',
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
          ...(method === 'POST' ? { body: signBody } : {}),
        });
        expect(res.status, `${origin} ${method} ${where}`).toBe(403);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        expect(await res.json()).toEqual({ error: 'origin_not_allowed' });
      }
    }
    expect(token.calls).toEqual([]);
  });

  it('answers the allowed preflight with CORS for that origin only, and the Private Network Access opt-in', async () => {
    const res = await fetch(`${bridge.url}/v1/sign`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
        'access-control-request-private-network': 'true',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(res.headers.get('access-control-allow-private-network')).toBe('true');
    expect(token.calls).toEqual([]);
  });

  it('reports status with the module and slots, with CORS for the origin', async () => {
    const res = await fetch(`${bridge.url}/v1/status`, { headers: { origin: ORIGIN } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await res.json()).toMatchObject({ ok: true, module: '/spy.so', slots: [] });
  });

  it('signs for the allowed origin, and answers a locked PIN with pin_locked', async () => {
    const post = () =>
      fetch(`${bridge.url}/v1/sign`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/json' },
        body: signBody,
      });
    const ok = await post();
    expect(await ok.json()).toEqual({ signature: Buffer.from('olleh').toString('base64') });
    token.lockNext = true;
    const locked = await post();
    expect(locked.status).toBe(423);
    expect(await locked.json()).toEqual({ error: 'pin_locked' });
  });

  it('refuses malformed and oversized requests before the token sees them', async () => {
    const post = (body: string) =>
      fetch(`${bridge.url}/v1/sign`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/json' },
        body,
      });
    for (const body of [
      'not json',
      '[]',
      JSON.stringify({ id: 'zz', pin: '1', data: 'aGVsbG8=', algorithm: 'RSA-PSS-SHA256' }),
      JSON.stringify({ id: '01', pin: '', data: 'aGVsbG8=', algorithm: 'RSA-PSS-SHA256' }),
      JSON.stringify({ id: '01', pin: '1', data: '***', algorithm: 'RSA-PSS-SHA256' }),
      JSON.stringify({ id: '01', pin: '1', data: 'aGVsbG8=' }),
    ]) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
    }
    const big = await post(JSON.stringify({ id: '01', pin: '1', data: 'A'.repeat(20_000), algorithm: 'x' }));
    expect(big.status).toBe(413);
    expect(token.calls).toEqual([]);
  });
});
