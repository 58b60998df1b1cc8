import { constants, type KeyObject, verify } from 'node:crypto';
import { parseCertificate } from './certificate.js';
import { decodeDerSignature } from './encoding.js';
import { type KeyAlgorithm, readSubjectPublicKey, type SubjectPublicKey, spkiOf } from './public-key.js';
import { SM2_DEFAULT_USER_ID, sm2Verify } from './sm2.js';

// Verification of the signature a certificate holder made over a login
// challenge. The algorithm name comes from the client (the bridge or the
// page), so it is checked against the certificate's key before anything else.

export const SIGNATURE_ALGORITHMS = [
  'RSASSA-PKCS1-v1_5-SHA256',
  'RSA-PSS-SHA256',
  'ECDSA-P256-SHA256',
  'ECDSA-P384-SHA384',
  'SM2-SM3',
] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

const KEY_FOR_ALGORITHM: Record<SignatureAlgorithm, KeyAlgorithm> = {
  'RSASSA-PKCS1-v1_5-SHA256': 'RSA',
  'RSA-PSS-SHA256': 'RSA',
  'ECDSA-P256-SHA256': 'EC-P256',
  'ECDSA-P384-SHA384': 'EC-P384',
  'SM2-SM3': 'SM2',
};

/** Keys below this are refused for login: RSA-1024 has been retired by every CA rule book. */
export const MIN_RSA_BITS = 2048;

export type SignatureFailureReason =
  | 'unsupported_algorithm'
  | 'algorithm_mismatch'
  | 'weak_key'
  | 'bad_signature'
  | 'malformed';

export type SignatureCheck =
  | { ok: true; algorithm: SignatureAlgorithm; keyAlgorithm: KeyAlgorithm }
  | { ok: false; reason: SignatureFailureReason; message: string };

export type VerifySignatureInput = (
  | { certificateDer: Uint8Array | string; publicKey?: never }
  /** DER SubjectPublicKeyInfo or a node:crypto key. */
  | { publicKey: Uint8Array | KeyObject; certificateDer?: never }
) & {
  data: Uint8Array;
  signature: Uint8Array;
  /** As sent by the client; anything but the names above is refused. */
  algorithm: string;
  /** SM2 only; the default is GM/T 0009's `1234567812345678`. */
  sm2UserId?: string;
};

const MESSAGES: Record<SignatureFailureReason, string> = {
  unsupported_algorithm: '不支持的签名算法',
  algorithm_mismatch: '签名算法与证书密钥类型不符',
  weak_key: '证书密钥长度不足',
  bad_signature: '签名验证失败',
  malformed: '证书格式不正确',
};

function failure(reason: SignatureFailureReason): SignatureCheck {
  return { ok: false, reason, message: MESSAGES[reason] };
}

export function isSignatureAlgorithm(name: string): name is SignatureAlgorithm {
  return (SIGNATURE_ALGORITHMS as readonly string[]).includes(name);
}

export function verifySignature(input: VerifySignatureInput): SignatureCheck {
  const { algorithm } = input;
  if (!isSignatureAlgorithm(algorithm)) return failure('unsupported_algorithm');

  const key = subjectKey(input);
  if (!key) return failure('malformed');
  if (KEY_FOR_ALGORITHM[algorithm] !== key.keyAlgorithm) return failure('algorithm_mismatch');
  if (key.keyAlgorithm === 'RSA' && key.modulusBits < MIN_RSA_BITS) return failure('weak_key');

  const valid = verifyWithKey(algorithm, key, input.data, input.signature, input.sm2UserId);
  return valid ? { ok: true, algorithm, keyAlgorithm: key.keyAlgorithm } : failure('bad_signature');
}

function subjectKey(input: VerifySignatureInput): SubjectPublicKey | undefined {
  if (input.certificateDer !== undefined) {
    const parsed = parseCertificate(input.certificateDer);
    return parsed.ok ? parsed.certificate.publicKey : undefined;
  }
  const publicKey = input.publicKey;
  let spki: Uint8Array;
  try {
    spki = publicKey instanceof Uint8Array ? publicKey : spkiOf(publicKey);
  } catch {
    return undefined;
  }
  const read = readSubjectPublicKey(spki);
  return read.ok ? read.key : undefined;
}

function verifyWithKey(
  algorithm: SignatureAlgorithm,
  key: SubjectPublicKey,
  data: Uint8Array,
  signature: Uint8Array,
  sm2UserId: string | undefined,
): boolean {
  if (key.keyAlgorithm === 'SM2') {
    return sm2Verify({ publicPoint: key.point, data, signature, userId: sm2UserId ?? SM2_DEFAULT_USER_ID });
  }
  try {
    switch (algorithm) {
      case 'RSASSA-PKCS1-v1_5-SHA256':
        return verify('sha256', data, key.keyObject, signature);
      case 'RSA-PSS-SHA256':
        // Any salt length: WebCrypto callers pick 32, PKCS#11 tokens differ, and
        // the salt length adds nothing to what an attacker could forge.
        return verify(
          'sha256',
          data,
          {
            key: key.keyObject,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          },
          signature,
        );
      case 'ECDSA-P256-SHA256':
        return verifyEcdsa('sha256', 32, key.keyObject, data, signature);
      case 'ECDSA-P384-SHA384':
        return verifyEcdsa('sha384', 48, key.keyObject, data, signature);
      default:
        return false;
    }
  } catch {
    // OpenSSL throws on some malformed signature encodings; that is a failed check.
    return false;
  }
}

/**
 * ECDSA signatures arrive in two encodings: DER from PKCS#11 bridges and most
 * libraries, raw r||s from WebCrypto. A fixed-length r||s can not be told from
 * DER by its bytes alone, so each plausible reading is tried.
 */
function verifyEcdsa(
  hash: 'sha256' | 'sha384',
  coordinateBytes: number,
  keyObject: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    decodeDerSignature(signature) &&
    verify(hash, data, { key: keyObject, dsaEncoding: 'der' }, signature)
  ) {
    return true;
  }
  return (
    signature.length === coordinateBytes * 2 &&
    verify(hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature)
  );
}
