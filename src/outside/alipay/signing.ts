import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * Alipay's RSA2 signatures (SHA256withRSA, PKCS#1 v1.5) as the gateway makes and
 * checks them: what the development Alipay (dev-server.ts) needs to play Alipay.
 * Unified ID's own client signs and verifies through Alipay's SDK instead.
 */

/**
 * The text a request signature covers: every parameter but `sign`, empty values
 * left out, sorted by name in ASCII order, `k=v` joined with `&`, values raw.
 */
export function requestSigningContent(params: Readonly<Record<string, string>>): string {
  return (
    Object.entries(params)
      .filter(([name, value]) => name !== 'sign' && value !== '')
      // Code-unit order, not localeCompare: Alipay sorts by ASCII, which locale collation does not.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`)
      .join('&')
  );
}

/** The base64 `sign` parameter of a gateway request. */
export function signRequest(params: Readonly<Record<string, string>>, privateKey: KeyObject): string {
  return signText(requestSigningContent(params), privateKey);
}

/** SHA256withRSA over the UTF-8 bytes of `text`, base64. */
export function signText(text: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/** Whether `signature` (base64) is a valid SHA256withRSA signature of `text`. Never throws. */
export function verifyText(text: string, signature: string, publicKey: KeyObject): boolean {
  // Buffer.from skips characters that are not base64; a signature that is not
  // strictly base64 must fail rather than verify after silent repair.
  const compact = signature.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return false;
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), publicKey, Buffer.from(compact, 'base64'));
  } catch {
    return false;
  }
}
