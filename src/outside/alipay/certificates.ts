import { type KeyObject, X509Certificate } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import type { AlipayCertificates } from './client.js';
import { AlipayKeyError, publicKeyBase64 } from './keys.js';

/**
 * The three certificates of public-key-certificate mode (公钥证书模式), as the
 * open-platform console issues them: PEM text, read from the variables (an
 * environment file may carry the newlines as literal "\n"). Checked at start-up so
 * that a swapped or truncated file names its variable then, not as a failed login.
 */

export const ALIPAY_CERTIFICATE_VARIABLES = [
  'ALIPAY_APP_CERT',
  'ALIPAY_PUBLIC_CERT',
  'ALIPAY_ROOT_CERT',
] as const;

export type AlipayCertificateVariable = (typeof ALIPAY_CERTIFICATE_VARIABLES)[number];

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const MIN_MODULUS_BITS = 2048;

export function parseAlipayCertificates(
  settings: Partial<Record<AlipayCertificateVariable, string | undefined>>,
  appPrivateKey: KeyObject,
): AlipayCertificates {
  const [appCert] = certificatesOf(settings.ALIPAY_APP_CERT, 'ALIPAY_APP_CERT');
  const [alipayCert] = certificatesOf(settings.ALIPAY_PUBLIC_CERT, 'ALIPAY_PUBLIC_CERT');
  const roots = certificatesOf(settings.ALIPAY_ROOT_CERT, 'ALIPAY_ROOT_CERT');

  const appKey = publicKeyBase64(appPrivateKey);
  // The app certificate is what Alipay knows the app's key by: signing with another key
  // would be refused by the gateway at every login.
  if (publicKeyBase64(appCert!.cert.publicKey) !== appKey) {
    throw new AlipayKeyError(
      'ALIPAY_APP_CERT',
      'does not certify the public key of ALIPAY_PRIVATE_KEY (应用公钥证书 and 应用私钥 do not match)',
    );
  }
  const alipayKey = alipayCert!.cert.publicKey;
  if (publicKeyBase64(alipayKey) === appKey) {
    throw new AlipayKeyError(
      'ALIPAY_PUBLIC_CERT',
      'is the app’s own certificate; it must be Alipay’s public key certificate (支付宝公钥证书)',
    );
  }
  checkRsa(alipayKey, 'ALIPAY_PUBLIC_CERT');
  // Alipay's SDK derives alipay_root_cert_sn from the RSA roots only; a file without one
  // would send an empty serial and every call would be refused.
  if (!roots.some((root) => root.cert.publicKey.asymmetricKeyType === 'rsa')) {
    throw new AlipayKeyError('ALIPAY_ROOT_CERT', 'holds no RSA root certificate (支付宝根证书)');
  }
  // The files as issued, whole: Alipay's public certificate file carries its issuing CA
  // after it, and the SDK reads the first certificate of each.
  const certificates = {
    appCert: normalise(settings.ALIPAY_APP_CERT),
    alipayPublicCert: normalise(settings.ALIPAY_PUBLIC_CERT),
    alipayRootCert: normalise(settings.ALIPAY_ROOT_CERT),
  };
  checkWithSdk(certificates, appPrivateKey);
  return certificates;
}

/** The SDK parses certificates with its own X.509 reader: what it can not read must fail here too. */
function checkWithSdk(certificates: AlipayCertificates, appPrivateKey: KeyObject): void {
  let config: AlipaySdk['config'];
  try {
    config = new AlipaySdk({
      appId: 'start-up-check',
      privateKey: appPrivateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyType: 'PKCS8',
      appCertContent: certificates.appCert,
      alipayPublicCertContent: certificates.alipayPublicCert,
      alipayRootCertContent: certificates.alipayRootCert,
    }).config;
  } catch (error) {
    throw new AlipayKeyError(
      ALIPAY_CERTIFICATE_VARIABLES.join('/'),
      'can not be read by Alipay’s SDK, which computes app_cert_sn and alipay_root_cert_sn from them',
      { cause: error },
    );
  }
  if (!config.appCertSn) throw new AlipayKeyError('ALIPAY_APP_CERT', 'gives no serial number (app_cert_sn)');
  if (!config.alipayRootCertSn) {
    throw new AlipayKeyError('ALIPAY_ROOT_CERT', 'gives no serial number (alipay_root_cert_sn)');
  }
}

function normalise(value: string | undefined): string {
  return (value ?? '').replaceAll('\\n', '\n').replaceAll('\\r', '').trim();
}

function certificatesOf(
  value: string | undefined,
  variable: AlipayCertificateVariable,
): Array<{ pem: string; cert: X509Certificate }> {
  const text = normalise(value);
  if (text === '') throw new AlipayKeyError(variable, 'is not set');
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw new AlipayKeyError(variable, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  return blocks.map((pem) => {
    try {
      return { pem, cert: new X509Certificate(pem) };
    } catch (error) {
      throw new AlipayKeyError(variable, 'holds a certificate that can not be read', { cause: error });
    }
  });
}

function checkRsa(key: KeyObject, variable: AlipayCertificateVariable): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_MODULUS_BITS) {
    throw new AlipayKeyError(variable, `certifies no RSA key of at least ${MIN_MODULUS_BITS} bits (RSA2)`);
  }
}
