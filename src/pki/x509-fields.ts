import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toHex } from './encoding.js';

// Decoders for the X.509 names and extensions the verifier relies on. Each
// returns undefined for a value it can not read, so the caller can refuse the
// certificate as malformed rather than guess.

export const EXTENSION = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

export const ATTRIBUTE = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  organization: '2.5.4.10',
  organizationIdentifier: '2.5.4.97',
} as const;

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** The text of a string-typed ASN.1 value (any of the X.520 string types). */
export function stringValue(value: unknown): string | undefined {
  return value instanceof asn1js.BaseStringBlock ? value.getValue() : undefined;
}

/** `C=CN, O=…, CN=…` in the order the certificate lists them, escaped as in RFC 4514. */
/**
 * The first of the attributes, in the order given, that the name carries as text: what a person
 * would call the holder or the issuer (for a subject O before CN, for an issuer CN before O).
 */
export function nameFor(name: pkijs.RelativeDistinguishedNames, oids: readonly string[]): string | undefined {
  for (const oid of oids) {
    const text = name.typesAndValues
      .filter((attribute) => attribute.type === oid)
      .map((attribute) => stringValue(attribute.value)?.trim())
      .find((value) => value);
    if (text) return text;
  }
  return undefined;
}

export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((attribute) => {
      const label = SHORT_NAMES[attribute.type] ?? attribute.type;
      const text = stringValue(attribute.value);
      const shown =
        text === undefined ? `#${toHex(new Uint8Array(attribute.value.toBER()))}` : escapeNameValue(text);
      return `${label}=${shown}`;
    })
    .join(', ');
}

function escapeNameValue(text: string): string {
  return text
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Bytes of the raw extension value (the DER inside extnValue). */
export function extensionBytes(extension: pkijs.Extension): Uint8Array {
  return extension.extnValue.valueBlock.valueHexView;
}

function parseWhole(bytes: Uint8Array): asn1js.AsnType | undefined {
  const parsed = asn1js.fromBER(bytes);
  return parsed.offset === bytes.length ? parsed.result : undefined;
}

export function readKeyUsage(extension: pkijs.Extension): KeyUsage[] | undefined {
  const value = parseWhole(extensionBytes(extension));
  if (!(value instanceof asn1js.BitString)) return undefined;
  const bytes = value.valueBlock.valueHexView;
  const usages: KeyUsage[] = [];
  KEY_USAGES.forEach((usage, bit) => {
    const byte = bytes[bit >> 3];
    if (byte !== undefined && byte & (0x80 >> (bit & 7))) usages.push(usage);
  });
  return usages;
}

/** The DER BIT STRING for a set of key usages, with trailing zero bits dropped as DER wants. */
export function encodeKeyUsage(usages: readonly KeyUsage[]): asn1js.BitString {
  const bits = usages.map((usage) => KEY_USAGES.indexOf(usage));
  const highest = Math.max(...bits, 0);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unusedBits = bits.length === 0 ? 0 : 7 - (highest & 7);
  return new asn1js.BitString({ valueHex: bytes, unusedBits });
}

export function readBasicConstraints(
  extension: pkijs.Extension,
): { isCa: boolean; pathLength?: number } | undefined {
  const value = parseWhole(extensionBytes(extension));
  if (!value) return undefined;
  try {
    const parsed = new pkijs.BasicConstraints({ schema: value });
    const { pathLenConstraint } = parsed;
    const pathLength =
      pathLenConstraint instanceof asn1js.Integer ? pathLenConstraint.valueBlock.valueDec : pathLenConstraint;
    return pathLength === undefined ? { isCa: parsed.cA } : { isCa: parsed.cA, pathLength };
  } catch {
    return undefined;
  }
}

/** The URIs of the full-name distribution points; relative names and CRL issuers are not followed. */
export function readCrlDistributionPoints(extension: pkijs.Extension): string[] | undefined {
  const value = parseWhole(extensionBytes(extension));
  if (!value) return undefined;
  try {
    const parsed = new pkijs.CRLDistributionPoints({ schema: value });
    const uris: string[] = [];
    for (const point of parsed.distributionPoints) {
      if (!Array.isArray(point.distributionPoint)) continue;
      for (const name of point.distributionPoint) {
        if (name.type === 6 && typeof name.value === 'string') uris.push(name.value);
      }
    }
    return uris;
  } catch {
    return undefined;
  }
}

/** The policy OIDs of a certificatePolicies extension (RFC 5280 4.2.1.4). */
export function readCertificatePolicies(extension: pkijs.Extension): string[] | undefined {
  const value = parseWhole(extensionBytes(extension));
  if (!value) return undefined;
  try {
    return new pkijs.CertificatePolicies({ schema: value }).certificatePolicies.map(
      (p) => p.policyIdentifier,
    );
  } catch {
    return undefined;
  }
}

/** A certificatePolicies extension naming the given policies (no qualifiers). */
export function encodeCertificatePolicies(oids: readonly string[]): pkijs.CertificatePolicies {
  return new pkijs.CertificatePolicies({
    certificatePolicies: oids.map((policyIdentifier) => new pkijs.PolicyInformation({ policyIdentifier })),
  });
}

export function readSubjectKeyIdentifier(extension: pkijs.Extension): string | undefined {
  const value = parseWhole(extensionBytes(extension));
  return value instanceof asn1js.OctetString ? toHex(value.valueBlock.valueHexView) : undefined;
}

export function readAuthorityKeyIdentifier(extension: pkijs.Extension): string | undefined {
  const value = parseWhole(extensionBytes(extension));
  if (!value) return undefined;
  try {
    const keyIdentifier = new pkijs.AuthorityKeyIdentifier({ schema: value }).keyIdentifier;
    return keyIdentifier ? toHex(keyIdentifier.valueBlock.valueHexView) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Readable text inside a CA-specific extension: a DER string (possibly nested in
 * sequences), or, as some Chinese CAs do, bare ASCII/UTF-8 bytes without DER.
 */
export function extensionTexts(extension: pkijs.Extension): string[] {
  const bytes = extensionBytes(extension);
  const value = parseWhole(bytes);
  if (value) {
    const texts: string[] = [];
    collectStrings(value, texts, 0);
    if (texts.length > 0) return texts;
  }
  return [Buffer.from(bytes).toString('utf8')];
}

function collectStrings(value: asn1js.AsnType, into: string[], depth: number): void {
  const text = stringValue(value);
  if (text !== undefined) {
    into.push(text);
    return;
  }
  if (depth > 4) return;
  if (value instanceof asn1js.OctetString) {
    const inner = parseWhole(value.valueBlock.valueHexView);
    if (inner) collectStrings(inner, into, depth + 1);
    else into.push(Buffer.from(value.valueBlock.valueHexView).toString('utf8'));
    return;
  }
  if (value instanceof asn1js.Constructed) {
    for (const child of value.valueBlock.value) collectStrings(child, into, depth + 1);
  }
}
