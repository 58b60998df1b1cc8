import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdNumber } from '../../identifiers/id-number.js';
import { responseNodeName } from './answer.js';
import { formatBeijingTimestamp } from './beijing-time.js';
import { DEV_ALIPAY_USERS, type DevAlipay, startDevAlipay } from './dev-server.js';
import { parseAlipayPrivateKey, parseAlipayPublicKey, publicKeyBase64 } from './keys.js';
import { signRequest } from './signing.js';
import { TEST_APP_PRIVATE_KEY_PEM, TEST_APP_PUBLIC_KEY_BASE64 } from './test-vectors.js';

const APP_ID = '2021000000000000';
const appPrivateKey = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
let dev: DevAlipay;

/** Alipay's SDK checks the fake's signature, as Unified ID's client does; the node is read from the signed text. */
function verifyResponse(body: string, method: string, alipayPublicKey: KeyObject) {
  const sdk = new AlipaySdk({
    appId: APP_ID,
    privateKey: TEST_APP_PRIVATE_KEY_PEM,
    keyType: 'PKCS8',
    alipayPublicKey: publicKeyBase64(alipayPublicKey),
  });
  const parsed = JSON.parse(body) as Record<string, unknown>;
  const nodeName = [responseNodeName(method), 'error_response'].find((name) => name in parsed) ?? '';
  sdk.checkResponseSign(body, nodeName, String(parsed['sign']), '');
  return { ok: true, nodeName, node: JSON.parse(sdk.getSignStr(body, nodeName)) as Record<string, unknown> };
}

beforeAll(async () => {
  dev = await startDevAlipay({
    appId: APP_ID,
    appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
  });
});

afterAll(async () => {
  await dev.close();
});

function authorizeQuery(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({
    app_id: APP_ID,
    scope: 'auth_user',
    redirect_uri: 'http://127.0.0.1:3000/login/alipay/callback',
    state: 'xyz',
    ...overrides,
  }).toString();
}

/** A gateway call signed by hand, to see the raw answer. */
async function gateway(params: Record<string, string>, key = appPrivateKey): Promise<string> {
  const all: Record<string, string> = {
    app_id: APP_ID,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: formatBeijingTimestamp(new Date()),
    version: '1.0',
    ...params,
  };
  all['sign'] = signRequest(all, key);
  const response = await fetch(dev.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(all),
  });
  expect(response.status).toBe(200);
  return response.text();
}

describe('the test users', () => {
  it('have ID numbers with a correct GB 11643 check character', () => {
    for (const user of DEV_ALIPAY_USERS.filter((u) => u.certNo)) {
      expect(parseIdNumber(user.certNo ?? '')).toMatchObject({ ok: true });
    }
  });

  it('are 张三 certified with mobile 13800138000, another certified without mobile, and one not certified', () => {
    const [first, second, third] = DEV_ALIPAY_USERS;
    expect(first).toMatchObject({
      userName: '张三',
      isCertified: true,
      certType: '0',
      mobile: '13800138000',
    });
    expect(second).toMatchObject({ isCertified: true, certType: '0' });
    expect(second?.userName).not.toBe('张三');
    expect(second?.certNo).not.toBe(first?.certNo);
    expect(second?.mobile).toBeUndefined();
    expect(third?.isCertified).toBe(false);
    expect(new Set(DEV_ALIPAY_USERS.map((u) => u.userId)).size).toBe(DEV_ALIPAY_USERS.length);
    for (const user of DEV_ALIPAY_USERS) expect(user.userId).toMatch(/^2088\d{12}$/);
  });
});

describe('the dev Alipay authorisation page', () => {
  it('listens on loopback and names its endpoints', () => {
    expect(dev.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(dev.authorizeUrl).toBe(`${dev.url}/oauth2/publicAppAuthorize.htm`);
    expect(dev.gatewayUrl).toBe(`${dev.url}/gateway.do`);
  });

  it('is a Chinese page with a button per test user and no script', async () => {
    const response = await fetch(`${dev.authorizeUrl}?${authorizeQuery()}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain('lang="zh-CN"');
    expect(html).toContain('支付宝');
    expect(html).not.toMatch(/<script/i);
    expect(html.match(/<button type="submit" name="user_id"/g)).toHaveLength(DEV_ALIPAY_USERS.length);
    for (const user of DEV_ALIPAY_USERS) expect(html).toContain(`value="${user.userId}"`);
  });

  it('escapes what the request carries', async () => {
    const response = await fetch(
      `${dev.authorizeUrl}?${authorizeQuery({ state: '"><script>alert(1)</script>' })}`,
    );
    const html = await response.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
  });

  it('refuses an unknown app_id, a bad scope or a bad redirect_uri', async () => {
    const cases: Array<Record<string, string>> = [
      { app_id: '2021999999999999' },
      { scope: 'auth_everything' },
      { redirect_uri: 'javascript:alert(1)' },
      { redirect_uri: '' },
    ];
    for (const overrides of cases) {
      const response = await fetch(`${dev.authorizeUrl}?${authorizeQuery(overrides)}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('授权失败');
    }
  });

  it('redirects with an auth_code, keeping the redirect_uri’s own query', async () => {
    const form = new URLSearchParams(authorizeQuery({ redirect_uri: 'http://127.0.0.1:3000/cb?flow=abc' }));
    form.set('user_id', DEV_ALIPAY_USERS[0]?.userId ?? '');
    const response = await fetch(dev.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.pathname).toBe('/cb');
    expect(location.searchParams.get('flow')).toBe('abc');
    expect(location.searchParams.get('auth_code')).toMatch(/^[0-9a-f]{32}$/);
    expect(location.searchParams.get('source')).toBe('alipay_wallet');
    expect(location.searchParams.get('state')).toBe('xyz');
  });

  it('refuses a POST without a known user', async () => {
    const form = new URLSearchParams(authorizeQuery());
    form.set('user_id', '2088999999999999');
    const response = await fetch(dev.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    expect(response.status).toBe(400);
  });

  it('answers 404 elsewhere', async () => {
    expect((await fetch(`${dev.url}/nothing`)).status).toBe(404);
    expect((await fetch(dev.gatewayUrl)).status).toBe(404);
  });
});

describe('the dev Alipay gateway', () => {
  it('signs its answers over the exact node text, with Alipay’s escaped slashes', async () => {
    const form = new URLSearchParams(authorizeQuery());
    form.set('user_id', DEV_ALIPAY_USERS[0]?.userId ?? '');
    const redirect = await fetch(dev.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('auth_code') ?? '';

    const tokenBody = await gateway({
      method: 'alipay.system.oauth.token',
      grant_type: 'authorization_code',
      code,
    });
    expect(tokenBody.startsWith('{"alipay_system_oauth_token_response":{')).toBe(true);
    const token = verifyResponse(tokenBody, 'alipay.system.oauth.token', dev.alipayPublicKey);
    // Alipay's token answer carries no code on success.
    expect(token.node).not.toHaveProperty('code');

    const infoBody = await gateway({
      method: 'alipay.user.info.share',
      auth_token: String(token.node['access_token']),
    });
    expect(infoBody).toContain('"avatar":"https:\\/\\/');
    expect(infoBody).toContain('"user_name":"张三"');
    expect(verifyResponse(infoBody, 'alipay.user.info.share', dev.alipayPublicKey)).toMatchObject({
      ok: true,
      node: { code: '10000', user_name: '张三', is_certified: 'T', avatar: DEV_ALIPAY_USERS[0]?.avatar },
    });

    const again = await gateway({
      method: 'alipay.system.oauth.token',
      grant_type: 'authorization_code',
      code,
    });
    expect(again.startsWith('{"error_response":{')).toBe(true);
    expect(verifyResponse(again, 'alipay.system.oauth.token', dev.alipayPublicKey)).toMatchObject({
      ok: true,
      node: { code: '40002', sub_code: 'isv.code-invalid' },
    });
  });

  it('refuses a request signed with another key: 40002 isv.invalid-signature', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const body = await gateway({ method: 'alipay.user.info.share', auth_token: 't' }, otherKey);
    expect(verifyResponse(body, 'alipay.user.info.share', dev.alipayPublicKey)).toMatchObject({
      ok: true,
      nodeName: 'error_response',
      node: { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature' },
    });
  });

  it('refuses an unknown method, a wrong sign_type and a malformed timestamp', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ method: 'alipay.trade.pay' }, 'isv.invalid-method'],
      [{ method: 'alipay.user.info.share', sign_type: 'RSA' }, 'isv.invalid-signature-type'],
      [{ method: 'alipay.user.info.share', timestamp: '2024/06/01 12:00' }, 'isv.invalid-timestamp'],
    ];
    for (const [params, subCode] of cases) {
      const body = await gateway(params);
      expect(verifyResponse(body, params['method'] ?? '', dev.alipayPublicKey)).toMatchObject({
        ok: true,
        node: { sub_code: subCode },
      });
    }
  });

  it('uses the signing key it is given and publishes its public half as bare base64', async () => {
    const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const given = await startDevAlipay({
      appId: APP_ID,
      appPublicKey: createPublicKey(appPrivateKey),
      alipayPrivateKey: alipayKeys.privateKey,
    });
    try {
      expect(given.alipayPublicKeyBase64).toBe(publicKeyBase64(alipayKeys.publicKey));
      expect(parseAlipayPublicKey(given.alipayPublicKeyBase64).equals(alipayKeys.publicKey)).toBe(true);
      expect(given.alipayPublicKeyBase64).not.toBe(dev.alipayPublicKeyBase64);
    } finally {
      await given.close();
    }
  });
});
