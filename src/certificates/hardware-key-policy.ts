import type { ParsedCertificate } from '../pki/certificate.js';
import { CertificateRefused } from './certificate-refused.js';

/**
 * Whether a certificate's key is on a USB key (amr hwk) or in a file (swk) is decided here, from
 * the certificate itself: CAs mark the certificates they issue on hardware keys with a policy of
 * their own (HARDWARE_CERT_POLICY_OIDS). What the page says about where it signed is never asked.
 */
export class HardwareKeyPolicy {
  readonly #hardwareOids: ReadonlySet<string>;

  constructor(
    hardwareOids: readonly string[],
    /** SOFTWARE_CERTIFICATES: whether an unmarked certificate may sign in or be bound at all. */
    readonly softwareAllowed: boolean,
  ) {
    this.#hardwareOids = new Set(hardwareOids);
  }

  /** The factor this certificate proves; refuses an unmarked one when software keys are off. */
  factorOf(certificate: Pick<ParsedCertificate, 'policies'>): 'hwk' | 'swk' {
    if (certificate.policies.some((oid) => this.#hardwareOids.has(oid))) return 'hwk';
    if (!this.softwareAllowed) {
      throw new CertificateRefused(
        '本平台只接受 USB Key 中的数字证书，不接受证书文件',
        'certificate_not_hardware',
      );
    }
    return 'swk';
  }
}
