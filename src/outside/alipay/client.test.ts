import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/ports.js';
import { rejectionOf } from '../../../test/support/rejection.js';
import {
  type AlipayClient,
  AlipayError,
  type AlipayUserInfo,
  DEFAULT_ALIPAY_AUTHORIZE_URL,
  HttpAlipayClient,
  type HttpAlipayClientOptions,
  isRealNameCertified,
} from './client.js';
import { alipayCertSn } from './dev-certificates.js';
import { DEV_ALIPAY_USERS, type DevAlipay, type DevAlipayUser, startDevAlipay } from './dev-server.js';
import { parseAlipayPrivateKey, parseAlipayPublicKey } from './keys.js';
import { TEST_APP_PRIVATE_KEY_PEM, TEST_APP_PUBLIC_KEY_BASE64 } from './test-vectors.js';

const APP_ID = '2021000000000000';
const REDIRECT_URI = 'https://id.example.gov.cn/login/alipay/callback';
const appPrivateKey = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
const [zhangSan, liNa, wangWu] = DEV_ALIPAY_USERS as [DevAlipayUser, DevAlipayUser, DevAlipayUser];

// The dev server's clock: tests move it forward to expire auth codes.
let clock = Date.parse('2024-06-01T04:00:00Z');
let dev: DevAlipay;
let client: HttpAlipayClient;

function clientWith(overrides: Partial<HttpAlipayClientOptions> = {}): HttpAlipayClient {
  return new HttpAlipayClient({
    appId: APP_ID,
    privateKey: appPrivateKey,
    // Configured the way an operator would: the bare base64 the console shows.
    alipayPublicKey: parseAlipayPublicKey(dev.alipayPublicKeyBase64),
    gatewayUrl: dev.gatewayUrl,
    authorizeUrl: dev.authorizeUrl,
    timeoutMs: 5_000,
    ...overrides,
  });
}

/** What the browser does: open the authorisation page, pick a test user, follow back to us. */
async function authorise(user: DevAlipayUser, via: AlipayClient = client, server: DevAlipay = dev) {
  const state = `st-${Math.random().toString(36).slice(2)}`;
  const page = await fetch(via.authorizeUrl(state, REDIRECT_URI));
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain(user.nickName);
  const form = new URLSearchParams({
    app_id: APP_ID,
    scope: 'auth_user',
    redirect_uri: REDIRECT_URI,
    state,
    user_id: user.userId,
  });
  const chosen = await fetch(server.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
  expect(chosen.status).toBe(302);
  const back = new URL(chosen.headers.get('location') ?? '');
  expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
  expect(back.searchParams.get('state')).toBe(state);
  expect(back.searchParams.get('app_id')).toBe(APP_ID);
  expect(back.searchParams.get('source')).toBe('alipay_wallet');
  expect(back.searchParams.get('scope')).toBe('auth_user');
  return back.searchParams.get('auth_code') ?? '';
}

async function expectAlipayError(
  promise: Promise<unknown>,
  expected: Partial<AlipayError>,
): Promise<AlipayError> {
  const error = await rejectionOf(promise, AlipayError);
  expect(error).toMatchObject(expected);
  return error;
}

beforeAll(async () => {
  dev = await startDevAlipay({
    appId: APP_ID,
    appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
    now: () => new Date(clock),
  });
  client = clientWith();
});

afterEach(() => {
  Object.assign(dev.faults, {
    badSignature: false,
    unsigned: false,
    down: false,
    downMode: 'http-503',
    errorSubCode: undefined,
    delayMs: 0,
  });
});

afterAll(async () => {
  await dev.close();
});

describe('the authorisation redirect', () => {
  it('sends the browser to Alipay with app_id, scope auth_user, redirect_uri and state', () => {
    const real = new HttpAlipayClient({
      appId: APP_ID,
      privateKey: appPrivateKey,
      alipayPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
    });
    const url = new URL(real.authorizeUrl('a b&c', `${REDIRECT_URI}?x=1&y=2`));
    expect(`${url.origin}${url.pathname}`).toBe(DEFAULT_ALIPAY_AUTHORIZE_URL);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      app_id: APP_ID,
      scope: 'auth_user',
      redirect_uri: `${REDIRECT_URI}?x=1&y=2`,
      state: 'a b&c',
    });
    // The redirect_uri is encoded as one parameter, its own query included.
    expect(url.search).toContain('redirect_uri=https%3A%2F%2Fid.example.gov.cn');
  });
});

describe('HttpAlipayClient against the dev Alipay over HTTP', () => {
  const expected: Array<[string, DevAlipayUser, Partial<AlipayUserInfo>, boolean]> = [
    [
      '张三, certified, with mobile',
      zhangSan,
      {
        userName: '张三',
        certType: '0',
        certNo: '330106198506123515',
        isCertified: true,
        mobile: '13800138000',
      },
      true,
    ],
    ['李娜, certified, no mobile', liNa, { userName: '李娜', certType: '0', isCertified: true }, true],
    ['王五, not certified', wangWu, { isCertified: false }, false],
  ];

  it.each(expected)('logs in %s', async (_label, user, fields, certified) => {
    const authCode = await authorise(user);
    const token = await client.exchangeCode(authCode);
    expect(token).toMatchObject({
      userId: user.userId,
      expiresIn: expect.any(Number),
      refreshToken: expect.any(String),
      reExpiresIn: expect.any(Number),
    });
    expect(token.accessToken).not.toBe('');

    const info = await client.userInfo(token.accessToken);
    expect(info).toMatchObject({ userId: user.userId, nickName: user.nickName, ...fields });
    // Escaped slashes in Alipay's JSON come back as plain URLs.
    expect(info.avatar).toBe(user.avatar);
    expect(isRealNameCertified(info)).toBe(certified);
    if (!user.mobile) expect(info).not.toHaveProperty('mobile');
    if (!certified) expect(info).not.toHaveProperty('certNo');
  });

  it('reads open_id for apps that get it instead of user_id', async () => {
    const openIdDev = await startDevAlipay({
      appId: APP_ID,
      appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
      identity: 'open_id',
    });
    try {
      const openIdClient = new HttpAlipayClient({
        appId: APP_ID,
        privateKey: appPrivateKey,
        alipayPublicKey: openIdDev.alipayPublicKey,
        gatewayUrl: openIdDev.gatewayUrl,
        authorizeUrl: openIdDev.authorizeUrl,
      });
      const token = await openIdClient.exchangeCode(await authorise(zhangSan, openIdClient, openIdDev));
      expect(token.openId).toBe(zhangSan.openId);
      expect(token.userId).toBeUndefined();
      const info = await openIdClient.userInfo(token.accessToken);
      expect(info).toMatchObject({ openId: zhangSan.openId, userName: '张三' });
      expect(info.userId).toBeUndefined();
    } finally {
      await openIdDev.close();
    }
  });

  it('refuses a badly signed token answer', async () => {
    const authCode = await authorise(zhangSan);
    dev.faults.badSignature = true;
    await expectAlipayError(client.exchangeCode(authCode), { kind: 'signature', status: 502 });
  });

  it('refuses a badly signed user info answer', async () => {
    const token = await client.exchangeCode(await authorise(zhangSan));
    dev.faults.badSignature = true;
    await expectAlipayError(client.userInfo(token.accessToken), { kind: 'signature' });
  });

  it('refuses an unsigned answer', async () => {
    const authCode = await authorise(liNa);
    dev.faults.unsigned = true;
    const error = await expectAlipayError(client.exchangeCode(authCode), { kind: 'signature' });
    expect(error.message).toContain('not signed');
  });

  it('refuses answers signed by anyone but the configured Alipay key', async () => {
    const impostorKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const misconfigured = clientWith({ alipayPublicKey: impostorKey });
    await expectAlipayError(misconfigured.exchangeCode(await authorise(zhangSan)), { kind: 'signature' });
  });

  it('refuses a reused auth_code with isv.code-invalid', async () => {
    const authCode = await authorise(zhangSan);
    await client.exchangeCode(authCode);
    const error = await expectAlipayError(client.exchangeCode(authCode), {
      kind: 'gateway',
      alipayCode: '40002',
      subCode: 'isv.code-invalid',
      method: 'alipay.system.oauth.token',
    });
    expect(error.subMsg).toBe('授权码code无效');
    expect(error.userMessage).not.toContain('isv');
  });

  it('refuses an auth_code after five minutes, and accepts it just before', async () => {
    const early = await authorise(zhangSan);
    const late = await authorise(liNa);
    clock += 5 * 60 * 1000 - 1000;
    await expect(client.exchangeCode(early)).resolves.toMatchObject({ userId: zhangSan.userId });
    clock += 1000;
    await expectAlipayError(client.exchangeCode(late), { kind: 'gateway', subCode: 'isv.code-invalid' });
  });

  it('refuses an unknown auth_code', async () => {
    await expectAlipayError(client.exchangeCode('0123456789abcdef0123456789abcdef'), {
      kind: 'gateway',
      subCode: 'isv.code-invalid',
    });
  });

  it('refuses an unknown access token on user info', async () => {
    await expectAlipayError(client.userInfo('authusrBnot-a-token'), {
      kind: 'gateway',
      alipayCode: '20001',
      subCode: 'aop.invalid-auth-token',
      method: 'alipay.user.info.share',
    });
  });

  it('reports the error sub_code Alipay answers with', async () => {
    const authCode = await authorise(zhangSan);
    dev.faults.errorSubCode = 'isp.unknow-error';
    await expectAlipayError(client.exchangeCode(authCode), {
      kind: 'gateway',
      alipayCode: '20000',
      alipayMsg: 'Service Currently Unavailable',
      subCode: 'isp.unknow-error',
    });
    dev.faults.errorSubCode = undefined;
    // The code was not consumed by the refused call.
    await expect(client.exchangeCode(authCode)).resolves.toMatchObject({ userId: zhangSan.userId });
  });

  it('is refused by the gateway when it signs with a key Alipay does not know for the app', async () => {
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await expectAlipayError(clientWith({ privateKey: wrongKey }).exchangeCode(await authorise(zhangSan)), {
      kind: 'gateway',
      alipayCode: '40002',
      subCode: 'isv.invalid-signature',
    });
  });

  it('is refused by the gateway under another app_id', async () => {
    await expectAlipayError(clientWith({ appId: '2021999999999999' }).exchangeCode('whatever'), {
      kind: 'gateway',
      subCode: 'isv.invalid-app-id',
    });
  });

  it('reports a gateway answering 503 as unavailable', async () => {
    dev.faults.down = true;
    await expectAlipayError(client.exchangeCode('any-code'), { kind: 'unavailable', status: 503 });
  });

  it('reports a gateway closing the connection as unavailable', async () => {
    dev.faults.down = true;
    dev.faults.downMode = 'reset';
    await expectAlipayError(client.exchangeCode('any-code'), { kind: 'unavailable' });
  });

  it('reports a gateway nobody listens on as unavailable', async () => {
    const port = await freePort();
    const nobody = clientWith({ gatewayUrl: `http://127.0.0.1:${port}/gateway.do` });
    await expectAlipayError(nobody.exchangeCode('any-code'), { kind: 'unavailable' });
  });

  it('gives up after timeoutMs', async () => {
    dev.faults.delayMs = 2_000;
    const impatient = clientWith({ timeoutMs: 150 });
    const started = Date.now();
    await expectAlipayError(impatient.exchangeCode('any-code'), { kind: 'timeout', status: 504 });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('signs each request with a Beijing timestamp from its clock', async () => {
    // A clock far off still signs correctly; the fake checks the format only.
    const skewed = clientWith({ now: () => new Date('2030-01-01T00:00:00Z') });
    await expectAlipayError(skewed.exchangeCode('unknown'), { subCode: 'isv.code-invalid' });
    // …and what it sent is that clock's time in Beijing (UTC+8), in Alipay's format.
    let sent = '';
    const listener = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        sent = new URLSearchParams(body).get('timestamp') ?? '';
        res.writeHead(503).end();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as { port: number };
    const recorded = clientWith({
      now: () => new Date('2030-01-01T00:00:00Z'),
      gatewayUrl: `http://127.0.0.1:${port}/gateway.do`,
    });
    await expectAlipayError(recorded.exchangeCode('unknown'), { kind: 'unavailable' });
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    expect(sent).toBe('2030-01-01 08:00:00');
  });
});

describe('HttpAlipayClient in public-key-certificate mode (公钥证书模式)', () => {
  let certDev: DevAlipay;

  beforeAll(async () => {
    certDev = await startDevAlipay({
      appId: APP_ID,
      appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
      keyMode: 'certificate',
    });
  });

  afterAll(async () => {
    await certDev.close();
  });

  const certClient = (overrides: Partial<HttpAlipayClientOptions> = {}) =>
    new HttpAlipayClient({
      appId: APP_ID,
      privateKey: appPrivateKey,
      certificates: certDev.certificates!,
      gatewayUrl: certDev.gatewayUrl,
      authorizeUrl: certDev.authorizeUrl,
      timeoutMs: 5_000,
      ...overrides,
    });

  it('logs in 张三 with the three certificates, the serial numbers on each call', async () => {
    const client = certClient();
    const token = await client.exchangeCode(await authorise(zhangSan, client, certDev));
    const info = await client.userInfo(token.accessToken);
    expect(info).toMatchObject({ userId: zhangSan.userId, userName: '张三', isCertified: true });
  });

  it('computes the serial numbers as Alipay does: the SDK and the development Alipay agree', () => {
    const certificates = certDev.certificates!;
    const sdk = new AlipaySdk({
      appId: APP_ID,
      privateKey: TEST_APP_PRIVATE_KEY_PEM,
      keyType: 'PKCS8',
      appCertContent: certificates.appCert,
      alipayPublicCertContent: certificates.alipayPublicCert,
      alipayRootCertContent: certificates.alipayRootCert,
    });
    expect(sdk.config.appCertSn).toMatch(/^[0-9a-f]{32}$/);
    expect(sdk.config.appCertSn).toBe(alipayCertSn(certificates.appCert));
    expect(sdk.config.alipayCertSn).toBe(alipayCertSn(certificates.alipayPublicCert));
    expect(sdk.config.alipayRootCertSn).toBe(alipayCertSn(certificates.alipayRootCert, true));
  });

  it('is refused by the gateway with an app certificate Alipay did not issue for the app', async () => {
    const other = await startDevAlipay({
      appId: APP_ID,
      appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
      keyMode: 'certificate',
    });
    try {
      const stranger = certClient({
        certificates: { ...certDev.certificates!, appCert: other.certificates!.appCert },
      });
      await expectAlipayError(stranger.exchangeCode(await authorise(zhangSan, stranger, certDev)), {
        kind: 'gateway',
        subCode: 'isv.invalid-app-cert-sn',
      });
      const wrongRoot = certClient({
        certificates: { ...certDev.certificates!, alipayRootCert: other.certificates!.alipayRootCert },
      });
      await expectAlipayError(wrongRoot.exchangeCode('any-code'), {
        kind: 'gateway',
        subCode: 'isv.invalid-alipay-root-cert-sn',
      });
    } finally {
      await other.close();
    }
  });

  it('refuses answers not signed under the configured Alipay public certificate', async () => {
    const other = await startDevAlipay({
      appId: APP_ID,
      appPublicKey: parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64),
      keyMode: 'certificate',
    });
    try {
      // Alipay's certificate from elsewhere: the answers' key is not the one it certifies.
      const misled = certClient({
        certificates: { ...certDev.certificates!, alipayPublicCert: other.certificates!.alipayPublicCert },
      });
      const error = await expectAlipayError(misled.exchangeCode(await authorise(zhangSan, misled, certDev)), {
        kind: 'signature',
        userMessage: '支付宝登录暂不可用，请稍后重试或使用其他方式登录',
      });
      // The log names the certificate Alipay signed under, and the configured one.
      expect(error.message).toContain(
        `signed under Alipay certificate ${alipayCertSn(certDev.certificates!.alipayPublicCert)}, ALIPAY_PUBLIC_CERT is ${alipayCertSn(other.certificates!.alipayPublicCert)}`,
      );
    } finally {
      await other.close();
    }
  });

  it('gives up after timeoutMs in this mode too', async () => {
    certDev.faults.delayMs = 2_000;
    try {
      await expectAlipayError(certClient({ timeoutMs: 150 }).exchangeCode('any-code'), {
        kind: 'timeout',
        userMessage: '支付宝服务响应超时，请稍后重试',
      });
    } finally {
      certDev.faults.delayMs = 0;
    }
  });
});

describe('isRealNameCertified', () => {
  const certified: AlipayUserInfo = {
    userId: '2088000000000001',
    userName: '张三',
    certType: '0',
    certNo: '330106198506123515',
    isCertified: true,
  };

  it('is true for a certified user with a resident ID card, name and number', () => {
    expect(isRealNameCertified(certified)).toBe(true);
  });

  it('is false without certification, with another document, or without name or number', () => {
    expect(isRealNameCertified({ ...certified, isCertified: false })).toBe(false);
    expect(isRealNameCertified({ ...certified, certType: '1' })).toBe(false);
    const { certType: _t, ...noType } = certified;
    expect(isRealNameCertified(noType)).toBe(false);
    expect(isRealNameCertified({ ...certified, userName: ' ' })).toBe(false);
    const { certNo: _n, ...noNumber } = certified;
    expect(isRealNameCertified(noNumber)).toBe(false);
  });
});
