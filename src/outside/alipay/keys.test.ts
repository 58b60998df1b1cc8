import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AlipayKeyError,
  parseAlipayKeys,
  parseAlipayPrivateKey,
  parseAlipayPublicKey,
  publicKeyBase64,
} from './keys.js';
import { signText, verifyText } from './signing.js';
import { TEST_APP_PRIVATE_KEY_PEM, TEST_APP_PUBLIC_KEY_BASE64 } from './test-vectors.js';

/** The base64 body of a PEM block, as Alipay's key tool prints it: no header lines. */
function bareBody(pem: string): string {
  return pem
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('\n');
}

function expectKeyError(fn: () => unknown, variable: string): AlipayKeyError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AlipayKeyError);
    const keyError = error as AlipayKeyError;
    expect(keyError.variable).toBe(variable);
    expect(keyError.message).toContain(variable);
    return keyError;
  }
  throw new Error('expected an AlipayKeyError');
}

/** A key pair works when a signature by one verifies with the other. */
function pairs(privateKey: ReturnType<typeof parseAlipayPrivateKey>, publicKey: typeof privateKey): boolean {
  return verifyText('配对检查', signText('配对检查', privateKey), publicKey);
}

const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const testPublicKey = parseAlipayPublicKey(TEST_APP_PUBLIC_KEY_BASE64);

describe('ALIPAY_PRIVATE_KEY', () => {
  it('reads PKCS#8 PEM', () => {
    const key = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(pairs(key, testPublicKey)).toBe(true);
  });

  it('reads the bare base64 body the key tool prints, on one line or many, with stray whitespace', () => {
    const body = bareBody(TEST_APP_PRIVATE_KEY_PEM);
    for (const value of [body, body.replaceAll('\n', ''), `  ${body.replaceAll('\n', ' \r\n ')}\t`]) {
      expect(pairs(parseAlipayPrivateKey(value), testPublicKey)).toBe(true);
    }
  });

  it('reads PEM whose newlines arrived as literal \\n from an environment file', () => {
    const escaped = TEST_APP_PRIVATE_KEY_PEM.replaceAll('\n', '\\n');
    expect(pairs(parseAlipayPrivateKey(escaped), testPublicKey)).toBe(true);
  });

  it('also reads PKCS#1, which the key tool offers for non-Java platforms', () => {
    const pkcs1 = createPrivateKey(TEST_APP_PRIVATE_KEY_PEM).export({
      type: 'pkcs1',
      format: 'pem',
    }) as string;
    expect(pairs(parseAlipayPrivateKey(pkcs1), testPublicKey)).toBe(true);
    expect(pairs(parseAlipayPrivateKey(bareBody(pkcs1)), testPublicKey)).toBe(true);
  });

  it('names the variable when the key is missing or unreadable, without echoing it', () => {
    expectKeyError(() => parseAlipayPrivateKey(undefined), 'ALIPAY_PRIVATE_KEY');
    expectKeyError(() => parseAlipayPrivateKey('   '), 'ALIPAY_PRIVATE_KEY');
    const garbage = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-a-key';
    const error = expectKeyError(() => parseAlipayPrivateKey(garbage), 'ALIPAY_PRIVATE_KEY');
    expect(error.message).not.toContain(garbage);
    expectKeyError(() => parseAlipayPrivateKey('QUJDRA=='), 'ALIPAY_PRIVATE_KEY');
    expectKeyError(
      () => parseAlipayPrivateKey('-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----'),
      'ALIPAY_PRIVATE_KEY',
    );
  });

  it('refuses a public key, a non-RSA key and a short RSA key', () => {
    expectKeyError(() => parseAlipayPrivateKey(TEST_APP_PUBLIC_KEY_BASE64), 'ALIPAY_PRIVATE_KEY');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expectKeyError(
      () => parseAlipayPrivateKey(ec.export({ type: 'pkcs8', format: 'pem' }) as string),
      'ALIPAY_PRIVATE_KEY',
    );
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const error = expectKeyError(
      () => parseAlipayPrivateKey(short.export({ type: 'pkcs8', format: 'pem' }) as string),
      'ALIPAY_PRIVATE_KEY',
    );
    expect(error.message).toContain('1024');
  });

  it('takes another variable name for the message', () => {
    expectKeyError(
      () => parseAlipayPrivateKey('nope', 'ALIPAY_APP_2_PRIVATE_KEY'),
      'ALIPAY_APP_2_PRIVATE_KEY',
    );
  });
});

describe('ALIPAY_PUBLIC_KEY', () => {
  it('reads the bare base64 SPKI body the console shows, and PEM', () => {
    const appPrivate = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
    expect(testPublicKey.type).toBe('public');
    const pem = createPublicKey(appPrivate).export({ type: 'spki', format: 'pem' }) as string;
    expect(pairs(appPrivate, parseAlipayPublicKey(pem))).toBe(true);
    const wrapped = TEST_APP_PUBLIC_KEY_BASE64.replace(/(.{64})/g, '$1\n');
    expect(pairs(appPrivate, parseAlipayPublicKey(wrapped))).toBe(true);
  });

  it('round-trips through publicKeyBase64', () => {
    expect(publicKeyBase64(testPublicKey)).toBe(TEST_APP_PUBLIC_KEY_BASE64);
    expect(publicKeyBase64(parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM))).toBe(TEST_APP_PUBLIC_KEY_BASE64);
  });

  it('refuses a private key pasted into it, as PEM or as base64', () => {
    const error = expectKeyError(() => parseAlipayPublicKey(TEST_APP_PRIVATE_KEY_PEM), 'ALIPAY_PUBLIC_KEY');
    expect(error.message).toContain('private');
    expectKeyError(() => parseAlipayPublicKey(bareBody(TEST_APP_PRIVATE_KEY_PEM)), 'ALIPAY_PUBLIC_KEY');
  });

  it('names the variable when missing or unreadable', () => {
    expectKeyError(() => parseAlipayPublicKey(''), 'ALIPAY_PUBLIC_KEY');
    expectKeyError(() => parseAlipayPublicKey('支付宝公钥'), 'ALIPAY_PUBLIC_KEY');
    expectKeyError(() => parseAlipayPublicKey('QUJDRA=='), 'ALIPAY_PUBLIC_KEY');
  });
});

describe('both keys together', () => {
  it('returns the app private key and Alipay public key', () => {
    const alipayPublic = publicKeyBase64(other.publicKey);
    const keys = parseAlipayKeys({
      ALIPAY_PRIVATE_KEY: TEST_APP_PRIVATE_KEY_PEM,
      ALIPAY_PUBLIC_KEY: alipayPublic,
    });
    expect(keys.privateKey.type).toBe('private');
    expect(publicKeyBase64(keys.alipayPublicKey)).toBe(alipayPublic);
  });

  it('refuses the app’s own public key in place of Alipay’s', () => {
    const error = expectKeyError(
      () =>
        parseAlipayKeys({
          ALIPAY_PRIVATE_KEY: bareBody(TEST_APP_PRIVATE_KEY_PEM),
          ALIPAY_PUBLIC_KEY: TEST_APP_PUBLIC_KEY_BASE64,
        }),
      'ALIPAY_PUBLIC_KEY',
    );
    expect(error.message).toContain('支付宝公钥');
  });

  it('names whichever variable is wrong', () => {
    expectKeyError(
      () => parseAlipayKeys({ ALIPAY_PUBLIC_KEY: TEST_APP_PUBLIC_KEY_BASE64 }),
      'ALIPAY_PRIVATE_KEY',
    );
    expectKeyError(
      () => parseAlipayKeys({ ALIPAY_PRIVATE_KEY: TEST_APP_PRIVATE_KEY_PEM }),
      'ALIPAY_PUBLIC_KEY',
    );
  });
});
