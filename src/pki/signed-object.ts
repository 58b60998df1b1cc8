import { constants, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID, type SubjectPublicKey } from './public-key.js';
import { sm2Verify } from './sm2.js';

// Signatures on certificates and CRLs, chosen by the AlgorithmIdentifier they
// carry. pkijs verifies through WebCrypto, which has no SM2, so all of them go
// through one routine here: node:crypto for RSA and ECDSA, sm2.ts for SM2.

/** The signed bytes of a certificate or CRL exactly as received, and its signature. */
export interface SignedPart {
  tbs: Uint8Array;
  algorithmOid: string;
  algorithmParams?: unknown;
  signature: Uint8Array;
}

type Hash = 'sha256' | 'sha384' | 'sha512';

// SHA-1 signatures are refused on purpose: they can be forged. Trust anchors are
// never checked against their own signature, so old roots are still usable.
const RSA_PKCS1: Record<string, Hash> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ECDSA: Record<string, Hash> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const HASH_OIDS: Record<string, Hash> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';

export const SIGNATURE_ALGORITHM_OIDS = {
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sm2WithSm3: OID.sm2WithSm3,
} as const;

/** True when `signed` was signed by the holder of `issuerKey`. */
export function verifySignedPart(signed: SignedPart, issuerKey: SubjectPublicKey): boolean {
  const { tbs, algorithmOid, signature } = signed;
  try {
    const rsaHash = RSA_PKCS1[algorithmOid];
    if (rsaHash) {
      return issuerKey.keyAlgorithm === 'RSA' && verify(rsaHash, tbs, issuerKey.keyObject, signature);
    }
    const ecHash = ECDSA[algorithmOid];
    if (ecHash) {
      if (issuerKey.keyAlgorithm !== 'EC-P256' && issuerKey.keyAlgorithm !== 'EC-P384') return false;
      return verify(ecHash, tbs, { key: issuerKey.keyObject, dsaEncoding: 'der' }, signature);
    }
    if (algorithmOid === OID.sm2WithSm3) {
      return (
        issuerKey.keyAlgorithm === 'SM2' && sm2Verify({ publicPoint: issuerKey.point, data: tbs, signature })
      );
    }
    if (algorithmOid === RSASSA_PSS && issuerKey.keyAlgorithm === 'RSA') {
      const pss = pssParameters(signed.algorithmParams);
      if (!pss) return false;
      const key = {
        key: issuerKey.keyObject,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: pss.saltLength,
      };
      return verify(pss.hash, tbs, key, signature);
    }
    return false;
  } catch {
    // OpenSSL throws on some malformed signatures; that is a failed verification.
    return false;
  }
}

function pssParameters(params: unknown): { hash: Hash; saltLength: number } | undefined {
  if (!(params instanceof asn1js.Sequence)) return undefined;
  let parsed: pkijs.RSASSAPSSParams;
  try {
    parsed = new pkijs.RSASSAPSSParams({ schema: params });
  } catch {
    return undefined;
  }
  const hash = HASH_OIDS[parsed.hashAlgorithm.algorithmId];
  // node:crypto uses the message hash for MGF1 too, so other combinations are refused.
  const mgfParams = parsed.maskGenAlgorithm.algorithmParams as unknown;
  const mgfHash =
    mgfParams instanceof asn1js.Sequence
      ? new pkijs.AlgorithmIdentifier({ schema: mgfParams }).algorithmId
      : '';
  if (!hash || HASH_OIDS[mgfHash] !== hash || parsed.trailerField !== 1) return undefined;
  return { hash, saltLength: parsed.saltLength };
}
