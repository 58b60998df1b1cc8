import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { TEST_APP_PRIVATE_KEY_PEM, TEST_APP_PUBLIC_KEY_BASE64 } from '../outside/alipay/test-vectors.js';

const base = () => ({
  DATA_DIR: mkdtempSync(path.join(tmpdir(), 'uid-alipay-config-')),
  COOKIE_KEYS: 'k'.repeat(32),
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
});

// Alipay's own key pair, as the open-platform console shows the public half: bare base64 SPKI.
const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ALIPAY_PUBLIC_KEY = alipayKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const complete = {
  ALIPAY_APP_ID: '2021000000000042',
  ALIPAY_PRIVATE_KEY: TEST_APP_PRIVATE_KEY_PEM,
  ALIPAY_PUBLIC_KEY,
};

function problemOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base(), ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('Alipay settings (ALIPAY_*)', () => {
  it('leave Alipay off when none of the app id and keys is set', () => {
    expect(loadConfig(base()).alipay).toBeUndefined();
  });

  it('switch Alipay on with the app id and both keys, at Alipay’s production addresses by default', () => {
    const alipay = loadConfig({ ...base(), ...complete }).alipay;
    expect(alipay).toMatchObject({
      appId: '2021000000000042',
      gatewayUrl: 'https://openapi.alipay.com/gateway.do',
      authorizeUrl: 'https://openauth.alipay.com/oauth2/publicAppAuthorize.htm',
    });
    expect(alipay?.privateKey.type).toBe('private');
    expect(alipay?.alipayPublicKey?.type).toBe('public');
  });

  it('take the private key as bare base64 too, and point at another gateway', () => {
    const body = TEST_APP_PRIVATE_KEY_PEM.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const alipay = loadConfig({
      ...base(),
      ...complete,
      ALIPAY_PRIVATE_KEY: body,
      ALIPAY_GATEWAY: 'http://127.0.0.1:41444/gateway.do',
      ALIPAY_AUTHORIZE_URL: 'http://127.0.0.1:41444/oauth2/publicAppAuthorize.htm',
    }).alipay;
    expect(alipay?.gatewayUrl).toBe('http://127.0.0.1:41444/gateway.do');
    expect(alipay?.authorizeUrl).toBe('http://127.0.0.1:41444/oauth2/publicAppAuthorize.htm');
  });

  it('name what is missing when only some are set', () => {
    const message = problemOf({ ALIPAY_APP_ID: complete.ALIPAY_APP_ID });
    expect(message).toContain('ALIPAY_PRIVATE_KEY is required');
    expect(message).toContain('ALIPAY_PUBLIC_KEY is required');
  });

  it('name the variable of an unusable key, never the key itself', () => {
    const broken = problemOf({ ...complete, ALIPAY_PRIVATE_KEY: 'not-a-key' });
    expect(broken).toMatch(/ALIPAY_PRIVATE_KEY: is neither PEM nor a base64 key body/);
    const swapped = problemOf({ ...complete, ALIPAY_PUBLIC_KEY: TEST_APP_PUBLIC_KEY_BASE64 });
    expect(swapped).toContain('ALIPAY_PUBLIC_KEY: is the app’s own public key');
    expect(swapped).not.toContain(TEST_APP_PUBLIC_KEY_BASE64.slice(0, 40));
    expect(problemOf({ ...complete, ALIPAY_APP_ID: 'my-app' })).toContain('ALIPAY_APP_ID');
    expect(problemOf({ ...complete, ALIPAY_GATEWAY: 'gateway' })).toContain('ALIPAY_GATEWAY');
  });

  it('require https addresses in production', () => {
    const message = problemOf({
      ...complete,
      NODE_ENV: 'production',
      ALIPAY_GATEWAY: 'http://alipay.internal/gateway.do',
    });
    expect(message).toContain('ALIPAY_GATEWAY must be an https: URL in production');
  });
});
