import { Conflict, NotFound } from '../errors.js';
import type { ParsedCertificate } from '../pki/certificate.js';
import { validateCertificate } from '../pki/chain.js';
import { buildChallenge, challengeExpiry, newNonce } from '../pki/challenge.js';
import type { CrlSource } from '../pki/crl.js';
import { verifySignature } from '../pki/signature.js';
import type { TrustStore } from '../pki/trust-store.js';
import type { FlowStates } from '../state/flow-state.js';
import { CertificateRefused } from './certificate-refused.js';
import type { BoundCertificateRow, CertificateStore } from './certificate-store.js';
import type { HardwareKeyPolicy } from './hardware-key-policy.js';

export type ChallengePurpose = 'login' | 'bind';

export { CertificateRefused };

export interface PossessionProof {
  nonce: string;
  /** Leaf first, base64 DER. */
  chain: string[];
  /** base64 */
  signature: string;
  algorithm: string;
}

/**
 * Certificate login and binding: a single-use challenge bound to the interaction (or the
 * account-space session), the chain validated to a trust anchor in certs/, the signature
 * checked, and the certificate mapped to a legal person by its bound fingerprint.
 */
export class CertificateService {
  constructor(
    private readonly store: CertificateStore,
    private readonly flowStates: FlowStates,
    private readonly hardwareKeys: HardwareKeyPolicy,
    private readonly trust: () => TrustStore,
    private readonly crlSource: CrlSource,
    private readonly issuer: string,
    private readonly creditCodeOf: (accountId: string) => Promise<string | undefined>,
  ) {}

  /** SOFTWARE_CERTIFICATES: whether the page offers signing with a PKCS#12 file. */
  get softwareAllowed(): boolean {
    return this.hardwareKeys.softwareAllowed;
  }

  /** `binding` is the interaction id for login, or the account-space session for binding later. */
  async challenge(purpose: ChallengePurpose, binding: string) {
    const nonce = newNonce();
    const expiresAt = challengeExpiry(new Date());
    const { text } = buildChallenge({ issuer: this.issuer, interactionId: binding, nonce, expiresAt });
    await this.flowStates.put('cert-challenge', nonce, { purpose, binding, text });
    return { nonce, challenge: text, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Everything but the binding: the challenge (once), the chain, the dates, revocation, the
   * signature, and whether the key is hardware (refused when only hardware is accepted).
   */
  async prove(
    proof: PossessionProof,
    purpose: ChallengePurpose,
    binding: string,
  ): Promise<{ certificate: ParsedCertificate; factor: 'hwk' | 'swk' }> {
    const stored = await this.flowStates.take('cert-challenge', proof.nonce);
    if (!stored || stored.purpose !== purpose || stored.binding !== binding) {
      throw new CertificateRefused('签名请求已失效或已被使用，请重试', 'challenge_invalid');
    }
    const chain = proof.chain.map((c) => new Uint8Array(Buffer.from(c, 'base64')));
    const validation = await validateCertificate({
      chain,
      trustStore: this.trust(),
      crlSource: this.crlSource,
    });
    if (!validation.ok) throw new CertificateRefused(validation.message, `certificate_${validation.reason}`);
    const signature = verifySignature({
      certificateDer: validation.certificate.der,
      data: new TextEncoder().encode(stored.text),
      signature: new Uint8Array(Buffer.from(proof.signature, 'base64')),
      algorithm: proof.algorithm,
    });
    if (!signature.ok) throw new CertificateRefused(signature.message, `signature_${signature.reason}`);
    return {
      certificate: validation.certificate,
      factor: this.hardwareKeys.factorOf(validation.certificate),
    };
  }

  /** Binds a proven certificate to a legal person; the factor is what proving it showed. */
  async bind(
    accountId: string,
    proof: PossessionProof,
    binding: string,
  ): Promise<BoundCertificateRow & { factor: 'hwk' | 'swk' }> {
    const { certificate, factor } = await this.prove(proof, 'bind', binding);
    const creditCode = await this.creditCodeOf(accountId);
    if (!creditCode) throw new CertificateRefused('只有法人用户可以绑定数字证书');
    if (certificate.creditCode !== creditCode) {
      throw new CertificateRefused('证书中的统一社会信用代码与本账号不一致', 'certificate_other_enterprise');
    }
    if (await this.store.find(certificate.fingerprintSha256))
      throw new Conflict('该证书已绑定', 'certificate_bound');
    const row = {
      fingerprint: certificate.fingerprintSha256,
      account_id: accountId,
      subject: certificate.subject,
      issuer: certificate.issuer,
      serial_hex: certificate.serialNumberHex,
      key_algorithm: certificate.keyAlgorithm,
      not_after: certificate.notAfter,
    };
    await this.store.bind(row);
    return { ...row, created_at: new Date(), factor };
  }

  /** The account a proven, bound certificate signs in. */
  async login(
    proof: PossessionProof,
    interactionUid: string,
  ): Promise<{ accountId: string; fingerprint: string; factor: 'hwk' | 'swk' }> {
    const { certificate, factor } = await this.prove(proof, 'login', interactionUid);
    const bound = await this.store.find(certificate.fingerprintSha256);
    if (!bound)
      throw new CertificateRefused(
        '该证书尚未绑定任何法人账号。请先使用统一社会信用代码登录，在“用户空间 → 认证等级 → CA认证”中绑定该证书',
        'certificate_unbound',
      );
    const creditCode = await this.creditCodeOf(bound.account_id);
    if (!creditCode || certificate.creditCode !== creditCode) {
      throw new CertificateRefused(
        '证书中的统一社会信用代码与绑定的账号不一致',
        'certificate_other_enterprise',
      );
    }
    return { accountId: bound.account_id, fingerprint: bound.fingerprint, factor };
  }

  list(accountId: string) {
    return this.store.forAccount(accountId);
  }

  async unbind(accountId: string, fingerprint: string) {
    if (!(await this.store.unbind(accountId, fingerprint))) throw new NotFound('没有这张已绑定的证书');
  }
}
