import { checkClientOptions, type SignedJsonClientOptions } from '../sms/hmac.js';
import { postVerificationQuery } from '../verification-call.js';
import { type IdentityVerifier, type VerificationResult, VerifierUnavailable } from './identity-verifier.js';

export type HttpIdentityVerifierOptions = SignedJsonClientOptions;

/**
 * The identity verification service over HTTP (wire format: ../sms/README.md): a JSON POST of
 * `{name, idNumber}` signed like the SMS gateway's, answered `{"result": "match" | "mismatch" |
 * "not_found"}`. A query changes nothing, so connection errors and 5xx are retried (within the
 * time budget); any other failure is VerifierUnavailable.
 */
export class HttpIdentityVerifier implements IdentityVerifier {
  readonly kind = 'http' as const;
  readonly #options: HttpIdentityVerifierOptions;

  constructor(options: HttpIdentityVerifierOptions) {
    checkClientOptions(options, 'identity verifier');
    this.#options = { ...options };
  }

  async verify(input: { name: string; idNumber: string }): Promise<VerificationResult> {
    return postVerificationQuery(
      this.#options,
      () => ({ name: input.name, idNumber: input.idNumber }),
      'identity verifier',
      (detail, reason, cause) => new VerifierUnavailable(detail, { reason, cause }),
    );
  }
}
