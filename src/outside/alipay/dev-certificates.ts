import { createHash, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { pemBlocks, toPem } from '../../pki/encoding.js';
import {
  buildName,
  extension,
  type NameAttribute,
  randomSerial,
  signCertificate,
  subjectNameOf,
} from '../../pki/x509-builder.js';
import { ATTRIBUTE, EXTENSION, encodeKeyUsage } from '../../pki/x509-fields.js';

/**
 * The certificates of public-key-certificate mode (公钥证书模式) as the development
 * Alipay issues them: a root of its own, Alipay's public certificate for the key it
 * signs answers with, and the app's certificate for the app's public key (what the
 * open-platform console issues from the app's CSR). Invented names; nothing here is
 * Alipay's real PKI.
 */
export interface DevAlipayCertificates {
  /** 应用公钥证书: ALIPAY_APP_CERT. */
  appCert: string;
  /** 支付宝公钥证书: ALIPAY_PUBLIC_CERT. */
  alipayPublicCert: string;
  /** 支付宝根证书: ALIPAY_ROOT_CERT. */
  alipayRootCert: string;
}

const ORGANISATION_UNIT = '2.5.4.11';
const YEAR_MS = 365 * 24 * 3600 * 1000;

const name = (commonName: string): NameAttribute[] => [
  { oid: ATTRIBUTE.country, value: 'CN', printable: true },
  { oid: ATTRIBUTE.organization, value: '模拟支付宝（开发环境）' },
  { oid: ORGANISATION_UNIT, value: 'Dev Alipay Certification Authority' },
  { oid: ATTRIBUTE.commonName, value: commonName },
];

export async function issueDevAlipayCertificates(options: {
  appId: string;
  appPublicKey: KeyObject;
  alipayPublicKey: KeyObject;
  now: Date;
}): Promise<DevAlipayCertificates> {
  const root = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const rootName = buildName(name('Dev Alipay Root CA'));
  const notBefore = new Date(options.now.getTime() - 3600_000);
  const rootDer = signCertificate(
    {
      serialNumber: randomSerial(),
      issuer: rootName,
      subject: rootName,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 10 * YEAR_MS),
      publicKey: root.publicKey,
      extensions: [
        extension(EXTENSION.basicConstraints, true, new pkijs.BasicConstraints({ cA: true })),
        extension(EXTENSION.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      ],
    },
    { privateKey: root.privateKey, algorithm: 'RSA' },
  );
  const leaf = (commonName: string, publicKey: KeyObject) =>
    toPem(
      signCertificate(
        {
          serialNumber: randomSerial(),
          issuer: subjectNameOf(rootDer),
          subject: buildName(name(commonName)),
          notBefore,
          notAfter: new Date(notBefore.getTime() + 5 * YEAR_MS),
          publicKey,
          extensions: [
            extension(EXTENSION.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
            extension(EXTENSION.keyUsage, true, encodeKeyUsage(['digitalSignature'])),
          ],
        },
        { privateKey: root.privateKey, algorithm: 'RSA' },
      ),
      'CERTIFICATE',
    );
  return {
    appCert: leaf(options.appId, options.appPublicKey),
    alipayPublicCert: leaf('Dev Alipay RSA2 Signing', options.alipayPublicKey),
    alipayRootCert: toPem(rootDer, 'CERTIFICATE'),
  };
}

const RSA_SIGNATURE_OID_PREFIX = '1.2.840.113549.1.1.';

/**
 * Alipay's serial number of a certificate (`app_cert_sn`, `alipay_cert_sn`): MD5, in hex,
 * of the issuer's name in RFC 4514 order (last RDN first, `,` between) followed by the
 * serial number in decimal. For the root file (`alipay_root_cert_sn`) the serials of its
 * RSA-signed certificates, joined with `_`; Alipay leaves its SM2 roots out.
 */
export function alipayCertSn(pem: string, root = false): string {
  const certificates = pemBlocks(pem)
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block) => pkijs.Certificate.fromBER(block.der));
  const chosen = root
    ? certificates.filter((c) => c.signatureAlgorithm.algorithmId.startsWith(RSA_SIGNATURE_OID_PREFIX))
    : certificates.slice(0, 1);
  return chosen.map(serialOf).join('_');
}

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

function serialOf(certificate: pkijs.Certificate): string {
  const issuer = certificate.issuer.typesAndValues
    .map(({ type, value }) => `${SHORT_NAMES[type] ?? type}=${String(value.valueBlock.value)}`)
    .reverse()
    .join(',');
  const serial = BigInt(`0x${Buffer.from(certificate.serialNumber.valueBlock.valueHexView).toString('hex')}`);
  return createHash('md5')
    .update(`${issuer}${serial.toString(10)}`, 'utf8')
    .digest('hex');
}
