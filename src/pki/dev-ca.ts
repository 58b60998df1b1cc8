import { constants, type KeyObject, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toHex, toPem } from './encoding.js';
import type { SignatureAlgorithm } from './signature.js';
import { sm2Sign } from './sm2.js';
import {
  buildName,
  type DevAlgorithm,
  extension,
  generateDevKeyPair,
  type KeyPair,
  keyIdentifier,
  randomSerial,
  signCertificate,
  signCrl,
  subjectNameOf,
  wholeSeconds,
} from './x509-builder.js';
import {
  ATTRIBUTE,
  EXTENSION,
  encodeCertificatePolicies,
  encodeKeyUsage,
  type KeyUsage,
} from './x509-fields.js';

// A development CA for `unified-id dev-ca` and for tests: RSA, ECDSA and SM2
// CAs and the enterprise (法人) certificates they issue, CRLs, and PKCS#12
// files for the page's software-certificate login. Never for production keys.

export { DEV_HARDWARE_POLICY_OID } from './dev-policy.js';
export { toPkcs12 } from './pkcs12.js';
export type { DevAlgorithm, KeyPair } from './x509-builder.js';
export { generateDevKeyPair } from './x509-builder.js';

export interface DevCa {
  algorithm: DevAlgorithm;
  commonName: string;
  certificateDer: Uint8Array;
  certificatePem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface CreateDevCaOptions {
  algorithm: DevAlgorithm;
  /** Unique by default, so two dev CAs are never mistaken for each other by name. */
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Makes an intermediate CA signed by `issuer` instead of a self-signed root. */
  issuer?: DevCa;
  crlDistributionPoints?: string[];
  /** Reuse a key pair (tests: key generation is the slow part). */
  key?: KeyPair;
  /** basicConstraints pathLenConstraint: how many CAs may stand below this one (none: no limit). */
  pathLength?: number;
  /** Default: keyCertSign and cRLSign; null: no keyUsage extension at all (RFC 5280 4.2.1.3 allows it). */
  keyUsage?: KeyUsage[] | null;
  /** basicConstraints cA (default true); false makes an issuer that is no CA, for tests that refuse it. */
  isCa?: boolean;
  /** Critical extensions of these OIDs, with no meaning: for tests of extensions a validator must not ignore. */
  criticalExtensionOids?: readonly string[];
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

function meaninglessCriticalExtensions(oids: readonly string[] = []) {
  return oids.map((oid) => extension(oid, true, new asn1js.Null()));
}

export async function createDevCa(options: CreateDevCaOptions): Promise<DevCa> {
  const { algorithm, issuer } = options;
  const key = options.key ?? (await generateDevKeyPair(algorithm));
  const commonName = options.commonName ?? `Unified ID Dev CA ${toHex(randomSerial().subarray(0, 4))}`;
  const subject = buildName([
    { oid: ATTRIBUTE.country, value: 'CN', printable: true },
    { oid: ATTRIBUTE.organization, value: 'Unified ID Development' },
    { oid: ATTRIBUTE.commonName, value: commonName },
  ]);
  const now = Date.now();
  const extensions = [
    extension(
      EXTENSION.basicConstraints,
      true,
      new pkijs.BasicConstraints({
        cA: options.isCa ?? true,
        ...(options.pathLength === undefined ? {} : { pathLenConstraint: options.pathLength }),
      }),
    ),
    ...(options.keyUsage === null
      ? []
      : [
          extension(EXTENSION.keyUsage, true, encodeKeyUsage(options.keyUsage ?? ['keyCertSign', 'cRLSign'])),
        ]),
    ...meaninglessCriticalExtensions(options.criticalExtensionOids),
    extension(
      EXTENSION.subjectKeyIdentifier,
      false,
      new asn1js.OctetString({ valueHex: keyIdentifier(key.publicKey) }),
    ),
  ];
  if (issuer) extensions.push(authorityKeyIdentifier(issuer));
  if (options.crlDistributionPoints?.length)
    extensions.push(distributionPoints(options.crlDistributionPoints));

  const certificateDer = signCertificate(
    {
      serialNumber: randomSerial(),
      issuer: issuer ? subjectNameOf(issuer.certificateDer) : subject,
      subject,
      notBefore: options.notBefore ?? new Date(now - HOUR),
      notAfter: options.notAfter ?? new Date(now + 10 * 365 * DAY),
      publicKey: key.publicKey,
      extensions,
    },
    issuer ?? { privateKey: key.privateKey, algorithm },
  );
  return {
    algorithm,
    commonName,
    certificateDer,
    certificatePem: certificateToPem(certificateDer),
    privateKey: key.privateKey,
    publicKey: key.publicKey,
  };
}

export type CreditCodePlacement = 'serialNumber' | 'organizationIdentifier' | { extensionOid: string };

export interface EnterpriseCertificateOptions {
  creditCode: string;
  orgName: string;
  algorithm: DevAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
  /** Default: digitalSignature and nonRepudiation, as a 法人 signing certificate has. */
  keyUsage?: KeyUsage[];
  crlDistributionPoints?: string[];
  /** Default: the subject serialNumber. `organizationIdentifier` gets the ETSI `NTRCN-` prefix. */
  creditCodeIn?: CreditCodePlacement;
  key?: KeyPair;
  /** certificatePolicies OIDs, e.g. DEV_HARDWARE_POLICY_OID for a key on a token. None by default. */
  policies?: readonly string[];
  /** Critical extensions of these OIDs, with no meaning: for tests of extensions a validator must not ignore. */
  criticalExtensionOids?: readonly string[];
}

export interface IssuedCertificate {
  algorithm: DevAlgorithm;
  certificateDer: Uint8Array;
  certificatePem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  serialNumberHex: string;
}

export async function issueEnterpriseCertificate(
  ca: DevCa,
  options: EnterpriseCertificateOptions,
): Promise<IssuedCertificate> {
  const key = options.key ?? (await generateDevKeyPair(options.algorithm));
  const placement = options.creditCodeIn ?? 'serialNumber';
  const subject = buildName([
    { oid: ATTRIBUTE.country, value: 'CN', printable: true },
    { oid: ATTRIBUTE.organization, value: options.orgName },
    { oid: ATTRIBUTE.commonName, value: options.orgName },
    ...(placement === 'serialNumber'
      ? [{ oid: ATTRIBUTE.serialNumber, value: options.creditCode, printable: true }]
      : placement === 'organizationIdentifier'
        ? [{ oid: ATTRIBUTE.organizationIdentifier, value: `NTRCN-${options.creditCode}` }]
        : []),
  ]);
  const extensions = [
    extension(EXTENSION.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
    extension(
      EXTENSION.keyUsage,
      true,
      encodeKeyUsage(options.keyUsage ?? ['digitalSignature', 'nonRepudiation']),
    ),
    extension(
      EXTENSION.subjectKeyIdentifier,
      false,
      new asn1js.OctetString({ valueHex: keyIdentifier(key.publicKey) }),
    ),
    authorityKeyIdentifier(ca),
    ...meaninglessCriticalExtensions(options.criticalExtensionOids),
  ];
  if (options.crlDistributionPoints?.length)
    extensions.push(distributionPoints(options.crlDistributionPoints));
  if (options.policies?.length) {
    extensions.push(
      extension(EXTENSION.certificatePolicies, false, encodeCertificatePolicies(options.policies)),
    );
  }
  if (typeof placement === 'object') {
    extensions.push(
      extension(placement.extensionOid, false, new asn1js.Utf8String({ value: options.creditCode })),
    );
  }

  const now = Date.now();
  const serialNumber = randomSerial();
  const certificateDer = signCertificate(
    {
      serialNumber,
      issuer: subjectNameOf(ca.certificateDer),
      subject,
      notBefore: options.notBefore ?? new Date(now - HOUR),
      notAfter: options.notAfter ?? new Date(now + 365 * DAY),
      publicKey: key.publicKey,
      extensions,
    },
    ca,
  );
  return {
    algorithm: options.algorithm,
    certificateDer,
    certificatePem: certificateToPem(certificateDer),
    privateKey: key.privateKey,
    publicKey: key.publicKey,
    serialNumberHex: toHex(serialNumber),
  };
}

export interface CrlOptions {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber?: number;
}

export interface DevCrl {
  der: Uint8Array;
  pem: string;
}

/** A CRL from `ca` revoking the given serial numbers (hex, as in `serialNumberHex`). */
export function createCrl(ca: DevCa, revokedSerials: readonly string[], options: CrlOptions): DevCrl {
  const der = signCrl(
    {
      issuer: subjectNameOf(ca.certificateDer),
      thisUpdate: options.thisUpdate,
      nextUpdate: options.nextUpdate,
      revoked: revokedSerials.map((serial) => ({
        serialNumber: new Uint8Array(Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex')),
        revocationDate: wholeSeconds(options.thisUpdate),
      })),
      extensions: [
        authorityKeyIdentifier(ca),
        extension(
          EXTENSION.crlNumber,
          false,
          new asn1js.Integer({ value: options.crlNumber ?? Math.floor(options.thisUpdate.getTime() / 1000) }),
        ),
      ],
    },
    ca,
  );
  return { der, pem: crlToPem(der) };
}

/**
 * Signs challenge bytes as a certificate holder would (the bridge or the page
 * does this in real use). ECDSA is returned in WebCrypto's r||s form unless
 * `ecdsaEncoding` says 'der'; SM2 is DER.
 */
export function signAsHolder(
  privateKey: KeyObject,
  algorithm: SignatureAlgorithm,
  data: Uint8Array,
  ecdsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363',
): Uint8Array {
  switch (algorithm) {
    case 'RSASSA-PKCS1-v1_5-SHA256':
      return new Uint8Array(sign('sha256', data, privateKey));
    case 'RSA-PSS-SHA256':
      return new Uint8Array(
        sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      );
    case 'ECDSA-P256-SHA256':
      return new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: ecdsaEncoding }));
    case 'ECDSA-P384-SHA384':
      return new Uint8Array(sign('sha384', data, { key: privateKey, dsaEncoding: ecdsaEncoding }));
    case 'SM2-SM3':
      return sm2Sign(privateKey, data);
  }
}

export function certificateToPem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE');
}

export function crlToPem(der: Uint8Array): string {
  return toPem(der, 'X509 CRL');
}

/** PKCS#8 PEM, unencrypted: dev keys only. */
export function privateKeyToPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function authorityKeyIdentifier(ca: DevCa): pkijs.Extension {
  const keyId = new asn1js.OctetString({ valueHex: keyIdentifier(ca.publicKey) });
  return extension(
    EXTENSION.authorityKeyIdentifier,
    false,
    new pkijs.AuthorityKeyIdentifier({ keyIdentifier: keyId }),
  );
}

function distributionPoints(urls: readonly string[]): pkijs.Extension {
  const points = urls.map(
    (url) =>
      new pkijs.DistributionPoint({ distributionPoint: [new pkijs.GeneralName({ type: 6, value: url })] }),
  );
  return extension(
    EXTENSION.crlDistributionPoints,
    false,
    new pkijs.CRLDistributionPoints({ distributionPoints: points }),
  );
}
