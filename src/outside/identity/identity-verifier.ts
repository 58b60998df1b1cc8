import { AppError } from '../../errors.js';

export type VerificationResult = 'match' | 'mismatch' | 'not_found';

/** The identity verification service (实名核验): does this name belong to this ID number? */
export interface IdentityVerifier {
  readonly kind: 'dev' | 'http';
  verify(input: { name: string; idNumber: string }): Promise<VerificationResult>;
}

export class VerifierUnavailable extends AppError {
  override name = 'VerifierUnavailable';
  constructor(detail: string) {
    super(503, 'verifier_unavailable', '实名核验服务暂不可用，请稍后重试', { detail });
  }
}
