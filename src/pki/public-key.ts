import { createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export type KeyAlgorithm = 'RSA' | 'EC-P256' | 'EC-P384' | 'SM2';

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  /** SM2 curve, and also used by some CAs as the public key algorithm itself. */
  sm2: '1.2.156.10197.1.301',
  sm2WithSm3: '1.2.156.10197.1.501',
} as const;

/** A subject public key ready for verification. */
export type SubjectPublicKey =
  | { keyAlgorithm: 'RSA'; spki: Uint8Array; keyObject: KeyObject; modulusBits: number }
  | { keyAlgorithm: 'EC-P256' | 'EC-P384'; spki: Uint8Array; keyObject: KeyObject }
  // SM2 is verified by sm2.ts from the raw point, not through node:crypto.
  | { keyAlgorithm: 'SM2'; spki: Uint8Array; point: Uint8Array };

export type PublicKeyResult =
  | { ok: true; key: SubjectPublicKey }
  | { ok: false; reason: 'malformed' | 'unsupported_key'; detail: string };

/** Reads a DER SubjectPublicKeyInfo. */
export function readSubjectPublicKey(spki: Uint8Array): PublicKeyResult {
  const parsed = asn1js.fromBER(spki);
  if (parsed.offset !== spki.length)
    return { ok: false, reason: 'malformed', detail: 'SPKI is not one DER value' };
  let info: pkijs.PublicKeyInfo;
  try {
    info = new pkijs.PublicKeyInfo({ schema: parsed.result });
  } catch {
    return { ok: false, reason: 'malformed', detail: 'SPKI does not match its schema' };
  }
  const algorithm = info.algorithm.algorithmId;
  const params = info.algorithm.algorithmParams as unknown;
  const curve = params instanceof asn1js.ObjectIdentifier ? params.getValue() : undefined;
  const bits = info.subjectPublicKey.valueBlock.valueHexView;

  if (algorithm === OID.sm2 || (algorithm === OID.ecPublicKey && curve === OID.sm2)) {
    const pointOk =
      (bits.length === 65 && bits[0] === 4) || (bits.length === 33 && (bits[0] === 2 || bits[0] === 3));
    if (!pointOk) return { ok: false, reason: 'malformed', detail: 'SM2 public point has a wrong length' };
    return { ok: true, key: { keyAlgorithm: 'SM2', spki, point: new Uint8Array(bits) } };
  }
  if (algorithm === OID.ecPublicKey && (curve === OID.p256 || curve === OID.p384)) {
    const keyObject = importSpki(spki);
    if (!keyObject) return { ok: false, reason: 'malformed', detail: 'EC public key rejected by OpenSSL' };
    return { ok: true, key: { keyAlgorithm: curve === OID.p256 ? 'EC-P256' : 'EC-P384', spki, keyObject } };
  }
  if (algorithm === OID.rsaEncryption) {
    const keyObject = importSpki(spki);
    const modulusBits = keyObject?.asymmetricKeyDetails?.modulusLength;
    if (!keyObject || !modulusBits)
      return { ok: false, reason: 'malformed', detail: 'RSA public key rejected by OpenSSL' };
    return { ok: true, key: { keyAlgorithm: 'RSA', spki, keyObject, modulusBits } };
  }
  return { ok: false, reason: 'unsupported_key', detail: `key algorithm ${algorithm} ${curve ?? ''}`.trim() };
}

/** DER SPKI of a node:crypto public (or private) key. */
export function spkiOf(key: KeyObject): Uint8Array {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

function importSpki(spki: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}
