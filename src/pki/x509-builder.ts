import { createHash, generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { spkiOf } from './public-key.js';
import { SIGNATURE_ALGORITHM_OIDS } from './signed-object.js';
import { sm2Sign } from './sm2.js';

// Building and signing certificates and CRLs for the development CA. pkijs
// builds the structures; the signature is made here over the encoded TBS
// because pkijs signs through WebCrypto, which has no SM2.

export type DevAlgorithm = 'RSA' | 'ECDSA-P256' | 'ECDSA-P384' | 'SM2';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateDevKeyPair(algorithm: DevAlgorithm): Promise<KeyPair> {
  switch (algorithm) {
    case 'RSA':
      return generateKeyPairAsync('rsa', { modulusLength: 2048 });
    case 'ECDSA-P256':
      return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    case 'ECDSA-P384':
      return generateKeyPairAsync('ec', { namedCurve: 'P-384' });
    case 'SM2':
      // OpenSSL 3 knows the curve; sm2.ts does the signing math on top of it.
      return generateKeyPairAsync('ec', { namedCurve: 'SM2' });
  }
}

export interface NameAttribute {
  oid: string;
  value: string;
  /** PrintableString where X.520 asks for it (C, serialNumber); UTF8String otherwise. */
  printable?: boolean;
}

/** A Name with one attribute per RDN, in the given order. */
export function buildName(attributes: readonly NameAttribute[]): pkijs.RelativeDistinguishedNames {
  const sequence = new asn1js.Sequence({
    value: attributes.map(
      ({ oid, value, printable }) =>
        new asn1js.Set({
          value: [
            new asn1js.Sequence({
              value: [
                new asn1js.ObjectIdentifier({ value: oid }),
                printable ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value }),
              ],
            }),
          ],
        }),
    ),
  });
  // Round-trip through DER so pkijs keeps these exact bytes (and the RDN split) when re-encoding.
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(sequence.toBER()).result });
}

/** The subject Name of a DER certificate, byte for byte. */
export function subjectNameOf(certificateDer: Uint8Array): pkijs.RelativeDistinguishedNames {
  return pkijs.Certificate.fromBER(certificateDer).subject;
}

export function randomSerial(): Uint8Array {
  const serial = randomBytes(16);
  // Positive and without a leading zero byte, so it encodes in exactly 16 bytes.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return new Uint8Array(serial);
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Uint8Array {
  const info = pkijs.PublicKeyInfo.fromBER(spkiOf(publicKey));
  return new Uint8Array(createHash('sha1').update(info.subjectPublicKey.valueBlock.valueHexView).digest());
}

export function extension(
  extnID: string,
  critical: boolean,
  value: asn1js.AsnType | pkijs.PkiObject,
): pkijs.Extension {
  const schema = value instanceof pkijs.PkiObject ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

export function time(date: Date): pkijs.Time {
  // RFC 5280 4.1.2.5: UTCTime up to 2049, GeneralizedTime from 2050.
  const type = date.getUTCFullYear() >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime;
  return new pkijs.Time({ type, value: wholeSeconds(date) });
}

export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export interface Signer {
  privateKey: KeyObject;
  algorithm: DevAlgorithm;
}

export interface CertificateTemplate {
  serialNumber: Uint8Array;
  issuer: pkijs.RelativeDistinguishedNames;
  subject: pkijs.RelativeDistinguishedNames;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: pkijs.Extension[];
}

export function signCertificate(template: CertificateTemplate, signer: Signer): Uint8Array {
  const certificate = new pkijs.Certificate();
  certificate.version = 2;
  certificate.serialNumber = new asn1js.Integer({ valueHex: template.serialNumber });
  certificate.issuer = template.issuer;
  certificate.subject = template.subject;
  certificate.notBefore = time(template.notBefore);
  certificate.notAfter = time(template.notAfter);
  certificate.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(spkiOf(template.publicKey));
  certificate.extensions = template.extensions;
  certificate.signature = signatureAlgorithm(signer.algorithm);
  certificate.signatureAlgorithm = signatureAlgorithm(signer.algorithm);
  certificate.tbsView = new Uint8Array(certificate.encodeTBS().toBER());
  certificate.signatureValue = new asn1js.BitString({ valueHex: signBytes(signer, certificate.tbsView) });
  return new Uint8Array(certificate.toSchema(false).toBER());
}

export interface CrlTemplate {
  issuer: pkijs.RelativeDistinguishedNames;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: readonly { serialNumber: Uint8Array; revocationDate: Date }[];
  extensions: pkijs.Extension[];
}

export function signCrl(template: CrlTemplate, signer: Signer): Uint8Array {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = template.issuer;
  crl.thisUpdate = time(template.thisUpdate);
  crl.nextUpdate = time(template.nextUpdate);
  if (template.revoked.length > 0) {
    crl.revokedCertificates = template.revoked.map(
      (entry) =>
        new pkijs.RevokedCertificate({
          userCertificate: new asn1js.Integer({ valueHex: entry.serialNumber }),
          revocationDate: time(entry.revocationDate),
        }),
    );
  }
  crl.crlExtensions = new pkijs.Extensions({ extensions: template.extensions });
  crl.signature = signatureAlgorithm(signer.algorithm);
  crl.signatureAlgorithm = signatureAlgorithm(signer.algorithm);
  // encodeTBS is protected on the CRL class; the full encoding's first element is the same thing.
  const tbs = (crl.toSchema(true) as asn1js.Sequence).valueBlock.value[0]!;
  crl.tbsView = new Uint8Array(tbs.toBER());
  crl.signatureValue = new asn1js.BitString({ valueHex: signBytes(signer, crl.tbsView) });
  return new Uint8Array(crl.toSchema(false).toBER());
}

function signatureAlgorithm(algorithm: DevAlgorithm): pkijs.AlgorithmIdentifier {
  switch (algorithm) {
    case 'RSA':
      return new pkijs.AlgorithmIdentifier({
        algorithmId: SIGNATURE_ALGORITHM_OIDS.sha256WithRsa,
        algorithmParams: new asn1js.Null(),
      });
    case 'ECDSA-P256':
      return new pkijs.AlgorithmIdentifier({ algorithmId: SIGNATURE_ALGORITHM_OIDS.ecdsaWithSha256 });
    case 'ECDSA-P384':
      return new pkijs.AlgorithmIdentifier({ algorithmId: SIGNATURE_ALGORITHM_OIDS.ecdsaWithSha384 });
    case 'SM2':
      return new pkijs.AlgorithmIdentifier({ algorithmId: SIGNATURE_ALGORITHM_OIDS.sm2WithSm3 });
  }
}

function signBytes({ privateKey, algorithm }: Signer, data: Uint8Array): Uint8Array {
  switch (algorithm) {
    case 'RSA':
      return new Uint8Array(sign('sha256', data, privateKey));
    case 'ECDSA-P256':
      return new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }));
    case 'ECDSA-P384':
      return new Uint8Array(sign('sha384', data, { key: privateKey, dsaEncoding: 'der' }));
    case 'SM2':
      return sm2Sign(privateKey, data);
  }
}
