import { type CertificateFieldMap, type ParsedCertificate, parseCertificate } from './certificate.js';
import { type CrlSource, checkRevocation } from './crl.js';
import { bytesEqual } from './encoding.js';
import { verifySignedPart } from './signed-object.js';
import type { TrustStore } from './trust-store.js';

// Validation of a login certificate: a path to a configured trust anchor with
// every signature checked (SM2 included), validity dates, key usage and
// revocation. The order of the checks decides which reason the user sees.

export type ValidationFailureReason =
  | 'untrusted'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'key_usage'
  | 'bad_signature'
  | 'crl_unavailable'
  | 'malformed';

export type ValidationResult =
  | { ok: true; certificate: ParsedCertificate; path: ParsedCertificate[] }
  | {
      ok: false;
      reason: ValidationFailureReason;
      /** Simplified Chinese, for the page. */
      message: string;
      /** English, for logs and operators; never shown to users. */
      detail: string;
    };

export interface ValidateCertificateInput {
  /** Leaf first; intermediates the client sent may follow, in any order. DER or PEM. */
  chain: readonly (Uint8Array | string)[];
  trustStore: TrustStore;
  now?: Date;
  crlSource: CrlSource;
  fieldMap?: CertificateFieldMap;
}

/** Longest path we build: leaf, a few intermediates, anchor. */
const MAX_PATH_LENGTH = 6;
/** More certificates than any real chain has; bounds the work a client can ask for. */
const MAX_SUPPLIED_CERTIFICATES = 8;
/**
 * Signature checks one path search may make. A real chain needs one or two per level; without a
 * bound, seven CAs of one name and one key made by the client (each verifies the others) ask for
 * every ordering of them, about 1100 checks: seconds of CPU per login attempt with SM2.
 */
const MAX_SIGNATURE_CHECKS = 32;

const MESSAGES = {
  untrusted: '证书不是由受信任的CA签发',
  expired: '证书已过期',
  caExpired: '签发该证书的CA证书已过期',
  notYetValid: '证书尚未生效',
  caNotYetValid: '签发该证书的CA证书尚未生效',
  revoked: '证书已被吊销',
  caRevoked: '签发该证书的CA证书已被吊销',
  keyUsage: '证书不允许数字签名',
  badSignature: '证书签名无效，证书可能已被篡改',
  crlUnavailable: '暂时无法获取证书吊销列表，请稍后再试',
  malformed: '证书格式不正确',
} as const;

function fail(reason: ValidationFailureReason, message: string, detail: string): ValidationResult {
  return { ok: false, reason, message, detail };
}

export async function validateCertificate(input: ValidateCertificateInput): Promise<ValidationResult> {
  const now = input.now ?? new Date();
  if (input.chain.length === 0 || input.chain.length > MAX_SUPPLIED_CERTIFICATES) {
    return fail('malformed', MESSAGES.malformed, `chain of ${input.chain.length} certificates`);
  }
  const parsed: ParsedCertificate[] = [];
  for (const [index, item] of input.chain.entries()) {
    const result = parseCertificate(item, { fieldMap: input.fieldMap ?? input.trustStore.fieldMap ?? {} });
    if (!result.ok) return fail('malformed', result.message, `chain[${index}]: ${result.detail}`);
    parsed.push(result.certificate);
  }
  const [leaf, ...supplied] = parsed as [ParsedCertificate, ...ParsedCertificate[]];
  if (leaf.unknownCriticalExtensions.length > 0) {
    return fail(
      'malformed',
      MESSAGES.malformed,
      `unknown critical extension ${leaf.unknownCriticalExtensions.join(', ')}`,
    );
  }

  const search = buildPath(leaf, [...supplied, ...input.trustStore.intermediates], input.trustStore.anchors);
  if (!search.path) {
    return search.badSignature
      ? fail(
          'bad_signature',
          MESSAGES.badSignature,
          `signature of ${search.badSignature.subject} does not verify`,
        )
      : fail('untrusted', MESSAGES.untrusted, `no path from "${leaf.issuer}" to a trust anchor`);
  }
  const path = search.path;

  for (const [index, certificate] of path.entries()) {
    const isLeaf = index === 0;
    if (now.getTime() < certificate.notBefore.getTime()) {
      return fail(
        'not_yet_valid',
        isLeaf ? MESSAGES.notYetValid : MESSAGES.caNotYetValid,
        `${certificate.subject} valid from ${certificate.notBefore.toISOString()}`,
      );
    }
    if (now.getTime() > certificate.notAfter.getTime()) {
      return fail(
        'expired',
        isLeaf ? MESSAGES.expired : MESSAGES.caExpired,
        `${certificate.subject} expired at ${certificate.notAfter.toISOString()}`,
      );
    }
  }

  // No keyUsage extension means no restriction (RFC 5280 4.2.1.3).
  if (leaf.keyUsage && !leaf.keyUsage.includes('digitalSignature')) {
    return fail('key_usage', MESSAGES.keyUsage, `keyUsage is ${leaf.keyUsage.join(', ') || 'empty'}`);
  }

  // Revocation comes last: only certificates a trusted CA has signed get their
  // distribution points fetched, so a client can not make us request URLs of its
  // choosing. The anchor is trusted by configuration; everything below it is checked.
  for (let index = 0; index < path.length - 1; index++) {
    const certificate = path[index]!;
    const status = await checkRevocation({
      certificate,
      issuer: path[index + 1]!,
      fileCrls: input.trustStore.crls,
      crlSource: input.crlSource,
      now,
    });
    if (status.status === 'revoked') {
      return fail(
        'revoked',
        index === 0 ? MESSAGES.revoked : MESSAGES.caRevoked,
        `${certificate.subject} serial ${certificate.serialNumberHex} is on the CRL of ${status.crl.issuer}`,
      );
    }
    if (status.status === 'unavailable') {
      return fail('crl_unavailable', MESSAGES.crlUnavailable, `${certificate.subject}: ${status.detail}`);
    }
  }
  return { ok: true, certificate: leaf, path };
}

interface PathSearch {
  path?: ParsedCertificate[] | undefined;
  /** A certificate whose named issuer exists but whose signature did not verify. */
  badSignature?: ParsedCertificate;
}

/**
 * Depth-first search from the leaf to an anchor. Issuers are matched by the
 * exact DER of their subject name and accepted only if their key verifies the
 * signature, so two CAs with the same name can not stand in for each other.
 */
function buildPath(
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
): PathSearch {
  const search: PathSearch = {};
  let checksLeft = MAX_SIGNATURE_CHECKS;

  const extend = (path: ParsedCertificate[]): ParsedCertificate[] | undefined => {
    const current = path[path.length - 1]!;
    const below = path.length - 1; // intermediates between this issuer and the leaf, for pathLenConstraint
    for (const anchor of anchors) {
      if (!bytesEqual(anchor.subjectName, current.issuerName) || !mayIssue(anchor, below)) continue;
      if (--checksLeft < 0) return undefined;
      if (verifySignedPart(current.signed, anchor.publicKey)) return [...path, anchor];
      search.badSignature ??= current;
    }
    if (path.length >= MAX_PATH_LENGTH - 1) return undefined;
    for (const candidate of intermediates) {
      if (!bytesEqual(candidate.subjectName, current.issuerName)) continue;
      if (path.some((link) => link.fingerprintSha256 === candidate.fingerprintSha256)) continue;
      if (!mayIssue(candidate, below) || candidate.unknownCriticalExtensions.length > 0) continue;
      if (--checksLeft < 0) return undefined;
      if (!verifySignedPart(current.signed, candidate.publicKey)) {
        search.badSignature ??= current;
        continue;
      }
      const found = extend([...path, candidate]);
      if (found) return found;
    }
    return undefined;
  };

  search.path = extend([leaf]);
  return search;
}

/** A CA may sign certificates: basicConstraints cA, keyCertSign if keyUsage is present, and path length. */
function mayIssue(ca: ParsedCertificate, intermediatesBelow: number): boolean {
  if (!ca.isCa) return false;
  if (ca.keyUsage && !ca.keyUsage.includes('keyCertSign')) return false;
  return ca.pathLength === undefined || intermediatesBelow <= ca.pathLength;
}
