import {
  checkClientOptions,
  postSignedJson,
  SignedCallFailed,
  type SignedJsonClientOptions,
} from '../sms/hmac.js';
import { type IdentityVerifier, type VerificationResult, VerifierUnavailable } from './identity-verifier.js';

export type HttpIdentityVerifierOptions = SignedJsonClientOptions;

const RESULTS: ReadonlySet<unknown> = new Set<VerificationResult>(['match', 'mismatch', 'not_found']);

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
    let answer: unknown;
    try {
      answer = await postSignedJson(this.#options, () => ({ name: input.name, idNumber: input.idNumber }));
    } catch (err) {
      // SignedCallFailed never carries the request body, so the name and ID number stay out of logs.
      if (err instanceof SignedCallFailed) {
        const code = err.details.answerCode ? ` (${err.details.answerCode})` : '';
        throw new VerifierUnavailable(
          `identity verifier: ${err.message}${code}, ${err.details.attempts} attempt(s)`,
          { reason: err.reason, cause: err },
        );
      }
      throw err;
    }
    const result = (answer as { result?: unknown } | null)?.result;
    if (!RESULTS.has(result)) {
      throw new VerifierUnavailable('identity verifier: answer has no valid result', {
        reason: 'bad_answer',
      });
    }
    return result as VerificationResult;
  }
}
