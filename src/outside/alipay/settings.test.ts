import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { type DevAlipayCertificates, issueDevAlipayCertificates } from './dev-certificates.js';
import { TEST_APP_PRIVATE_KEY_PEM, TEST_APP_PUBLIC_KEY_BASE64 } from './test-vectors.js';

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

  describe('in public-key-certificate mode (公钥证书模式)', () => {
    let certs: DevAlipayCertificates;
    let foreign: DevAlipayCertificates;
    beforeAll(async () => {
      const appPublicKey = createPublicKey(createPrivateKey(TEST_APP_PRIVATE_KEY_PEM));
      certs = await issueDevAlipayCertificates({
        appId: '2021000000000042',
        appPublicKey,
        alipayPublicKey: alipayKeys.publicKey,
        now: new Date(),
      });
      // Another app's certificates: its own key pair, issued by another root.
      foreign = await issueDevAlipayCertificates({
        appId: '2021000000000043',
        appPublicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
        alipayPublicKey: alipayKeys.publicKey,
        now: new Date(),
      });
    });
    const certEnv = () => ({
      ALIPAY_APP_ID: complete.ALIPAY_APP_ID,
      ALIPAY_PRIVATE_KEY: TEST_APP_PRIVATE_KEY_PEM,
      ALIPAY_APP_CERT: certs.appCert,
      ALIPAY_PUBLIC_CERT: certs.alipayPublicCert,
      // As an environment file carries it: one line, literal \n.
      ALIPAY_ROOT_CERT: certs.alipayRootCert.replaceAll('\n', '\\n'),
    });

    it('switch Alipay on with the app id, the private key and the three certificates', () => {
      const alipay = loadConfig({ ...base(), ...certEnv() }).alipay;
      expect(alipay?.alipayPublicKey).toBeUndefined();
      expect(alipay?.certificates).toEqual({
        appCert: certs.appCert.trim(),
        alipayPublicCert: certs.alipayPublicCert.trim(),
        alipayRootCert: certs.alipayRootCert.trim(),
      });
    });

    it('name each missing certificate', () => {
      const { ALIPAY_PUBLIC_CERT: _p, ALIPAY_ROOT_CERT: _r, ...partial } = certEnv();
      const message = problemOf(partial);
      expect(message).toContain('ALIPAY_PUBLIC_CERT is required');
      expect(message).toContain('ALIPAY_ROOT_CERT is required');
      expect(message).not.toContain('ALIPAY_PUBLIC_KEY');
    });

    it('refuse both modes at once', () => {
      expect(problemOf({ ...certEnv(), ALIPAY_PUBLIC_KEY })).toContain(
        'ALIPAY_PUBLIC_KEY and ALIPAY_APP_CERT/ALIPAY_PUBLIC_CERT/ALIPAY_ROOT_CERT are the two key modes',
      );
    });

    it('name the variable of an unusable or swapped certificate, never its content', () => {
      expect(problemOf({ ...certEnv(), ALIPAY_APP_CERT: 'not a certificate' })).toContain(
        'ALIPAY_APP_CERT: holds no PEM certificate',
      );
      const broken = certs.alipayPublicCert.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
      expect(problemOf({ ...certEnv(), ALIPAY_PUBLIC_CERT: broken })).toContain(
        'ALIPAY_PUBLIC_CERT: holds a certificate that can not be read',
      );
      const otherApp = problemOf({ ...certEnv(), ALIPAY_APP_CERT: foreign.appCert });
      expect(otherApp).toContain('ALIPAY_APP_CERT: does not certify the public key of ALIPAY_PRIVATE_KEY');
      expect(otherApp).not.toContain(foreign.appCert.slice(30, 90));
      expect(problemOf({ ...certEnv(), ALIPAY_PUBLIC_CERT: certs.appCert })).toContain(
        'ALIPAY_PUBLIC_CERT: is the app’s own certificate',
      );
      expect(problemOf({ ...certEnv(), ALIPAY_ROOT_CERT: TEST_APP_PRIVATE_KEY_PEM })).toContain(
        'ALIPAY_ROOT_CERT: holds no PEM certificate',
      );
    });
  });
});
