import type { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { sm2 } from 'sm-crypto-v2';
import { bigintToFixedBytes, decodeDerSignature, encodeDerSignature, toHex } from './encoding.js';

// SM2 signatures (GB/T 32918.2) with SM3 over Z_A || M, where Z_A hashes the
// signer's user id, the curve and the public key.
//
// node:crypto on this Node (OpenSSL 3.0) can not do this: a key on the SM2
// curve is treated as a plain EC key (ECDSA with SM3, no Z_A), and with the
// SM2 algorithm OID OpenSSL uses an empty user id with no way to set one from
// Node. Both were checked against an independent implementation, so SM2 goes
// through sm-crypto-v2 (built on @noble/curves) while keys are still generated
// and stored as node:crypto KeyObjects.

/** GM/T 0009: the user id signers use unless both sides agreed on another. */
export const SM2_DEFAULT_USER_ID = '1234567812345678';

const SM2_ORDER = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;

export interface Sm2VerifyInput {
  /** The public point as in the certificate: 04 || x || y (or compressed). */
  publicPoint: Uint8Array;
  data: Uint8Array;
  /** DER `SEQUENCE { r, s }`, the form GM/T 0009 and X.509 use. */
  signature: Uint8Array;
  userId?: string;
}

export function sm2Verify({ publicPoint, data, signature, userId }: Sm2VerifyInput): boolean {
  const rs = decodeDerSignature(signature);
  // The library reduces r and s modulo n; out-of-range values must not verify.
  if (!rs || rs.r < 1n || rs.r >= SM2_ORDER || rs.s < 1n || rs.s >= SM2_ORDER) return false;
  const raw = toHex(bigintToFixedBytes(rs.r, 32)) + toHex(bigintToFixedBytes(rs.s, 32));
  try {
    const pointHex = toHex(publicPoint);
    if (!sm2.verifyPublicKey(pointHex)) return false;
    return sm2.doVerifySignature(data, raw, pointHex, {
      hash: true,
      der: false,
      userId: userId ?? SM2_DEFAULT_USER_ID,
    });
  } catch {
    // An invalid point or encoding throws inside the library: that is a failed check.
    return false;
  }
}

/** Signs with an SM2-curve KeyObject; returns DER. Used by the development CA and tests. */
export function sm2Sign(
  privateKey: KeyObject,
  data: Uint8Array,
  userId: string = SM2_DEFAULT_USER_ID,
): Uint8Array {
  const d = sm2PrivateScalarHex(privateKey);
  const raw = sm2.doSignature(data, d, { hash: true, der: false, userId });
  return encodeDerSignature({ r: BigInt(`0x${raw.slice(0, 64)}`), s: BigInt(`0x${raw.slice(64)}`) });
}

function sm2PrivateScalarHex(privateKey: KeyObject): string {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyDetails?.namedCurve !== 'SM2') {
    throw new TypeError('an SM2 private key is required');
  }
  // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, ... } (RFC 5915).
  const sec1 = privateKey.export({ type: 'sec1', format: 'der' });
  const parsed = asn1js.fromBER(new Uint8Array(sec1));
  const octets = (parsed.result as asn1js.Sequence).valueBlock.value[1];
  if (!(octets instanceof asn1js.OctetString)) throw new TypeError('unexpected SM2 private key encoding');
  return toHex(octets.valueBlock.valueHexView).padStart(64, '0');
}

/**
 * e = SM3(Z_A || M), the 32 bytes an SM2 signature is computed over (GB/T 32918.2, 6.1): what a
 * USB key's SKF_ECCSignData is given, since the key signs a digest and does not hash.
 */
export function sm2MessageDigest(
  publicPoint: Uint8Array,
  data: Uint8Array,
  userId: string = SM2_DEFAULT_USER_ID,
): Uint8Array {
  return new Uint8Array(Buffer.from(sm2.getHash(data, toHex(publicPoint), userId), 'hex'));
}
