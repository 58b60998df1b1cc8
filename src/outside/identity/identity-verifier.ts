import { AppError } from '../../errors.js';

export type VerificationResult = 'match' | 'mismatch' | 'not_found';

/** The identity verification service (实名核验): does this name belong to this resident ID number? */
export interface IdentityVerifier {
  /** Pages say 开发模式 only for the development implementation. */
  readonly kind: 'dev' | 'http';
  /** `idNumber` normalised (18 characters, upper-case X); throws VerifierUnavailable when there is no answer. */
  verify(input: { name: string; idNumber: string }): Promise<VerificationResult>;
}

export type VerifierFailureReason = 'timeout' | 'unreachable' | 'http_status' | 'bad_answer';

/**
 * No answer from the service. Nothing about the person is decided, so nothing is changed; the
 * detail names the URL and the failure, never the name or ID number.
 */
export class VerifierUnavailable extends AppError {
  override name = 'VerifierUnavailable';
  readonly reason: VerifierFailureReason | undefined;

  constructor(detail: string, options: { reason?: VerifierFailureReason; cause?: unknown } = {}) {
    super(503, 'verifier_unavailable', '实名核验服务暂不可用，请稍后重试', { detail, cause: options.cause });
    this.reason = options.reason;
  }
}
