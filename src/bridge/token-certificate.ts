import { type ParsedCertificate, parseCertificate } from '../pki/certificate.js';
import type { TokenCertificate } from './token.js';

/**
 * What the bridge lists for one certificate on a token: the DER and what 选择证书 shows of it.
 * Undefined for bytes that are not a certificate (a token may hold anything under that name).
 */
export function tokenCertificate(
  der: Uint8Array,
  id: string,
  label: string,
): { entry: TokenCertificate; parsed: ParsedCertificate } | undefined {
  const parsed = parseCertificate(der);
  if (!parsed.ok) return undefined;
  const c = parsed.certificate;
  return {
    parsed: c,
    entry: {
      id,
      label,
      certificate: Buffer.from(der).toString('base64'),
      subject: c.subject,
      ...(c.holderName ? { holderName: c.holderName } : {}),
      ...(c.issuerDisplayName ? { issuerName: c.issuerDisplayName } : {}),
      notAfter: c.notAfter.toISOString(),
      keyAlgorithm: c.keyAlgorithm,
    },
  };
}
