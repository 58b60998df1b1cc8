import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The two RSA keys of an Alipay application: the app's own private key (it signs
 * our gateway requests) and Alipay's public key (it verifies Alipay's answers).
 * Operators copy them from Alipay's key tool or the open-platform console, which
 * print the bare base64 body without PEM header lines, so both forms are accepted.
 */

export type AlipayKeyVariable = 'ALIPAY_PRIVATE_KEY' | 'ALIPAY_PUBLIC_KEY';

/** A key setting that can not be used. The message names the variable, never the key material. */
export class AlipayKeyError extends Error {
  override name = 'AlipayKeyError';
  constructor(
    readonly variable: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${variable}: ${reason}`, options);
  }
}

// RSA2 is SHA256withRSA with a 2048-bit key; Alipay refuses shorter keys for it,
// so a shorter one is a configuration mistake better caught at start-up.
const MIN_MODULUS_BITS = 2048;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The app's private key: PKCS#8 (what Alipay's tool prints), PKCS#1 PEM also accepted. */
export function parseAlipayPrivateKey(value: string | undefined, variable = 'ALIPAY_PRIVATE_KEY'): KeyObject {
  const text = normaliseSetting(value, variable);
  let key: KeyObject;
  try {
    if (PEM_BLOCK.test(text)) {
      key = createPrivateKey({ key: text, format: 'pem' });
    } else {
      const der = bareBase64(text, variable);
      // Alipay's tool offers "PKCS8 (Java)" and "PKCS1 (non-Java)"; both are the same RSA key.
      key = tryEach(
        () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
        () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
      );
    }
  } catch (error) {
    if (error instanceof AlipayKeyError) throw error;
    throw new AlipayKeyError(variable, 'is not a readable RSA private key (PKCS#8 PEM or base64)', {
      cause: error,
    });
  }
  return checkRsa(key, variable);
}

/** Alipay's public key: SPKI (what the console shows), as PEM or bare base64. */
export function parseAlipayPublicKey(value: string | undefined, variable = 'ALIPAY_PUBLIC_KEY'): KeyObject {
  const text = normaliseSetting(value, variable);
  const pem = PEM_BLOCK.exec(text);
  // createPublicKey would happily derive a public key from a private one; a private
  // key in this variable means the two settings were swapped, which must not pass.
  if (pem?.[1]?.includes('PRIVATE')) {
    throw new AlipayKeyError(variable, 'holds a private key; it must be Alipay’s public key');
  }
  let key: KeyObject;
  try {
    if (pem) {
      key = createPublicKey({ key: text, format: 'pem' });
    } else {
      key = createPublicKey({ key: bareBase64(text, variable), format: 'der', type: 'spki' });
    }
  } catch (error) {
    if (error instanceof AlipayKeyError) throw error;
    throw new AlipayKeyError(variable, 'is not a readable RSA public key (SPKI PEM or base64)', {
      cause: error,
    });
  }
  return checkRsa(key, variable);
}

export interface AlipayKeys {
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
}

/** Both keys from their settings, refusing the common mix-up of pasting the app's own public key. */
export function parseAlipayKeys(settings: {
  ALIPAY_PRIVATE_KEY?: string | undefined;
  ALIPAY_PUBLIC_KEY?: string | undefined;
}): AlipayKeys {
  const privateKey = parseAlipayPrivateKey(settings.ALIPAY_PRIVATE_KEY);
  const alipayPublicKey = parseAlipayPublicKey(settings.ALIPAY_PUBLIC_KEY);
  // The console shows the app public key and Alipay's public key side by side;
  // taking the wrong one makes every answer fail verification, confusingly, at login time.
  if (publicKeyBase64(createPublicKey(privateKey)) === publicKeyBase64(alipayPublicKey)) {
    throw new AlipayKeyError(
      'ALIPAY_PUBLIC_KEY',
      'is the app’s own public key; it must be Alipay’s public key (支付宝公钥)',
    );
  }
  return { privateKey, alipayPublicKey };
}

/** The bare base64 SPKI body, as Alipay's console shows a public key. */
export function publicKeyBase64(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

function normaliseSetting(value: string | undefined, variable: string): string {
  // Environment files and container secrets often carry PEM with literal "\n".
  const text = (value ?? '').replaceAll('\\n', '\n').replaceAll('\\r', '').trim();
  if (text === '') throw new AlipayKeyError(variable, 'is not set');
  return text;
}

function bareBase64(text: string, variable: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 !== 0) {
    throw new AlipayKeyError(variable, 'is neither PEM nor a base64 key body');
  }
  return Buffer.from(compact, 'base64');
}

function checkRsa(key: KeyObject, variable: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AlipayKeyError(
      variable,
      `is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; RSA2 needs RSA`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS) {
    throw new AlipayKeyError(
      variable,
      `is a ${bits}-bit RSA key; RSA2 needs at least ${MIN_MODULUS_BITS} bits`,
    );
  }
  return key;
}

function tryEach<T>(...attempts: Array<() => T>): T {
  let last: unknown;
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (error) {
      last = error;
    }
  }
  throw last;
}
