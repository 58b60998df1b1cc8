import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { extractCreditCode } from './credit-code-field.js';
import { derBlocks, serialHex, toHex } from './encoding.js';
import { type KeyAlgorithm, readSubjectPublicKey, type SubjectPublicKey } from './public-key.js';
import type { SignedPart } from './signed-object.js';
import {
  ATTRIBUTE,
  EXTENSION,
  extensionTexts,
  formatName,
  type KeyUsage,
  nameFor,
  readAuthorityKeyIdentifier,
  readBasicConstraints,
  readCertificatePolicies,
  readCrlDistributionPoints,
  readKeyUsage,
  readSubjectKeyIdentifier,
  stringValue,
} from './x509-fields.js';

/** Certificate fields that CA-specific attributes or extensions may supply. */
export type MappedField = 'creditCode';
/** OID → field, for CAs that put the credit code somewhere of their own. */
export type CertificateFieldMap = Readonly<Record<string, MappedField>>;

export interface CertificateParseOptions {
  fieldMap?: CertificateFieldMap;
}

export interface ParsedCertificate {
  der: Uint8Array;
  /** Lower-case hex SHA-256 of the DER: what an enterprise's binding records. */
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  /** The subject's organisation (O), else its common name (CN): 企业名称 as a person knows it. */
  holderName?: string;
  /** The issuer's common name (CN), else its organisation (O): the CA as a person knows it. */
  issuerDisplayName?: string;
  serialNumberHex: string;
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm: KeyAlgorithm;
  /** Undefined when the certificate has no keyUsage extension (no restriction). */
  keyUsage: KeyUsage[] | undefined;
  crlDistributionPoints: string[];
  /** certificatePolicies OIDs: a CA marks certificates issued on hardware keys with one of its own. */
  policies: string[];
  creditCode?: string;
  isCa: boolean;
  pathLength?: number;
  publicKey: SubjectPublicKey;
  /** DER of the subject and issuer names; a chain links where these are byte-equal. */
  subjectName: Uint8Array;
  issuerName: Uint8Array;
  subjectKeyIdentifier?: string;
  authorityKeyIdentifier?: string;
  /** Critical extensions this verifier does not process; RFC 5280 says refuse such a certificate. */
  unknownCriticalExtensions: string[];
  signed: SignedPart;
}

export type CertificateParseResult =
  | { ok: true; certificate: ParsedCertificate }
  | { ok: false; reason: 'malformed' | 'unsupported_key'; message: string; detail: string };

const PEM_LABELS = ['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE'] as const;

// Extensions whose meaning we either enforce or may safely ignore when critical.
const UNDERSTOOD_EXTENSIONS = new Set<string>([
  EXTENSION.subjectKeyIdentifier,
  EXTENSION.keyUsage,
  EXTENSION.subjectAltName,
  EXTENSION.issuerAltName,
  EXTENSION.basicConstraints,
  EXTENSION.crlDistributionPoints,
  EXTENSION.certificatePolicies,
  EXTENSION.authorityKeyIdentifier,
  EXTENSION.extKeyUsage,
]);

function malformed(detail: string): CertificateParseResult {
  return { ok: false, reason: 'malformed', message: '证书格式不正确', detail };
}

/** Parses one certificate from DER bytes or PEM text (the first CERTIFICATE block). */
export function parseCertificate(
  input: Uint8Array | string,
  options: CertificateParseOptions = {},
): CertificateParseResult {
  const der = derBlocks(input, PEM_LABELS)[0];
  if (!der || der.length === 0) return malformed('no certificate in input');
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset !== der.length) return malformed('not a single DER value');
  let certificate: pkijs.Certificate;
  try {
    certificate = new pkijs.Certificate({ schema: asn1.result });
  } catch (error) {
    return malformed(`X.509 schema: ${(error as Error).message}`);
  }
  return fromPkijs(new Uint8Array(der), certificate, options);
}

function fromPkijs(
  der: Uint8Array,
  certificate: pkijs.Certificate,
  options: CertificateParseOptions,
): CertificateParseResult {
  // RFC 5280 4.1.1.2: the two algorithm identifiers must agree, or an attacker could swap one.
  const inner = toHex(new Uint8Array(certificate.signature.toSchema().toBER()));
  const outer = toHex(new Uint8Array(certificate.signatureAlgorithm.toSchema().toBER()));
  if (inner !== outer) return malformed('signature algorithm differs inside and outside TBS');
  if (certificate.signatureValue.valueBlock.unusedBits !== 0) return malformed('signature has unused bits');

  const key = readSubjectPublicKey(new Uint8Array(certificate.subjectPublicKeyInfo.toSchema().toBER()));
  if (!key.ok) {
    if (key.reason === 'unsupported_key') {
      return { ok: false, reason: 'unsupported_key', message: '证书密钥算法不受支持', detail: key.detail };
    }
    return malformed(key.detail);
  }

  let keyUsage: KeyUsage[] | undefined;
  let basic: { isCa: boolean; pathLength?: number } = { isCa: false };
  let crlDistributionPoints: string[] = [];
  let policies: string[] = [];
  let subjectKeyIdentifier: string | undefined;
  let authorityKeyIdentifier: string | undefined;
  const unknownCriticalExtensions: string[] = [];
  const seen = new Set<string>();
  for (const extension of certificate.extensions ?? []) {
    if (seen.has(extension.extnID)) return malformed(`extension ${extension.extnID} appears twice`);
    seen.add(extension.extnID);
    if (extension.critical && !UNDERSTOOD_EXTENSIONS.has(extension.extnID)) {
      unknownCriticalExtensions.push(extension.extnID);
    }
    switch (extension.extnID) {
      case EXTENSION.keyUsage:
        keyUsage = readKeyUsage(extension);
        if (!keyUsage) return malformed('keyUsage is unreadable');
        break;
      case EXTENSION.basicConstraints: {
        const read = readBasicConstraints(extension);
        if (!read) return malformed('basicConstraints is unreadable');
        basic = read;
        break;
      }
      case EXTENSION.crlDistributionPoints: {
        const read = readCrlDistributionPoints(extension);
        if (!read) return malformed('cRLDistributionPoints is unreadable');
        crlDistributionPoints = read;
        break;
      }
      case EXTENSION.certificatePolicies: {
        const read = readCertificatePolicies(extension);
        if (!read) return malformed('certificatePolicies is unreadable');
        policies = read;
        break;
      }
      case EXTENSION.subjectKeyIdentifier:
        subjectKeyIdentifier = readSubjectKeyIdentifier(extension);
        break;
      case EXTENSION.authorityKeyIdentifier:
        authorityKeyIdentifier = readAuthorityKeyIdentifier(extension);
        break;
    }
  }

  const creditCode = findCreditCode(certificate, options.fieldMap ?? {});
  const parsed: ParsedCertificate = {
    der,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    subject: formatName(certificate.subject),
    issuer: formatName(certificate.issuer),
    serialNumberHex: serialHex(certificate.serialNumber.valueBlock.valueHexView),
    notBefore: certificate.notBefore.value,
    notAfter: certificate.notAfter.value,
    keyAlgorithm: key.key.keyAlgorithm,
    keyUsage,
    crlDistributionPoints,
    policies,
    isCa: basic.isCa,
    publicKey: key.key,
    subjectName: new Uint8Array(certificate.subject.valueBeforeDecode),
    issuerName: new Uint8Array(certificate.issuer.valueBeforeDecode),
    unknownCriticalExtensions,
    signed: {
      tbs: new Uint8Array(certificate.tbsView),
      algorithmOid: certificate.signatureAlgorithm.algorithmId,
      algorithmParams: certificate.signatureAlgorithm.algorithmParams,
      signature: new Uint8Array(certificate.signatureValue.valueBlock.valueHexView),
    },
  };
  if (creditCode !== undefined) parsed.creditCode = creditCode;
  const holderName = nameFor(certificate.subject, [ATTRIBUTE.organization, ATTRIBUTE.commonName]);
  if (holderName !== undefined) parsed.holderName = holderName;
  const issuerDisplayName = nameFor(certificate.issuer, [ATTRIBUTE.commonName, ATTRIBUTE.organization]);
  if (issuerDisplayName !== undefined) parsed.issuerDisplayName = issuerDisplayName;
  if (basic.pathLength !== undefined) parsed.pathLength = basic.pathLength;
  if (subjectKeyIdentifier !== undefined) parsed.subjectKeyIdentifier = subjectKeyIdentifier;
  if (authorityKeyIdentifier !== undefined) parsed.authorityKeyIdentifier = authorityKeyIdentifier;
  return { ok: true, certificate: parsed };
}

// The standard places first (serialNumber, then organizationIdentifier), then
// whatever the configured CA-specific OIDs point at, as subject attributes or
// as extensions.
function findCreditCode(certificate: pkijs.Certificate, fieldMap: CertificateFieldMap): string | undefined {
  const subject = certificate.subject.typesAndValues;
  const texts = (oid: string): string[] =>
    subject
      .filter((attribute) => attribute.type === oid)
      .flatMap((attribute) => stringValue(attribute.value) ?? []);

  const candidates = [...texts(ATTRIBUTE.serialNumber), ...texts(ATTRIBUTE.organizationIdentifier)];
  for (const [oid, field] of Object.entries(fieldMap)) {
    if (field !== 'creditCode') continue;
    candidates.push(...texts(oid));
    for (const extension of certificate.extensions ?? []) {
      if (extension.extnID === oid) candidates.push(...extensionTexts(extension));
    }
  }
  for (const candidate of candidates) {
    const creditCode = extractCreditCode(candidate);
    if (creditCode) return creditCode;
  }
  return undefined;
}
