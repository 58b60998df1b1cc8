import {
  checkClientOptions,
  postSignedJson,
  SignedCallFailed,
  type SignedJsonClientOptions,
} from '../sms/hmac.js';
import {
  type EnterpriseQuery,
  type EnterpriseVerifier,
  EnterpriseVerifierUnavailable,
} from './enterprise-verifier.js';

const RESULTS = new Set(['match', 'mismatch', 'not_found']);

/**
 * The enterprise registry over HTTP, signed like the SMS gateway (../sms/README.md): a JSON POST
 * of the query, answered `{"result": "match" | "mismatch" | "not_found"}`.
 */
export class HttpEnterpriseVerifier implements EnterpriseVerifier {
  readonly kind = 'http' as const;
  readonly #options: SignedJsonClientOptions;

  constructor(options: SignedJsonClientOptions) {
    checkClientOptions(options, 'enterprise verifier');
    this.#options = { ...options };
  }

  async verify(query: EnterpriseQuery) {
    let answer: unknown;
    try {
      answer = await postSignedJson(this.#options, () => ({ ...query }));
    } catch (err) {
      if (err instanceof SignedCallFailed)
        throw new EnterpriseVerifierUnavailable(`enterprise verifier: ${err.message}`, { cause: err });
      throw err;
    }
    const result = (answer as { result?: unknown } | null)?.result;
    if (typeof result !== 'string' || !RESULTS.has(result)) {
      throw new EnterpriseVerifierUnavailable('enterprise verifier: answer has no valid result');
    }
    return result as 'match' | 'mismatch' | 'not_found';
  }
}
