import { checkClientOptions, type SignedJsonClientOptions } from '../sms/hmac.js';
import { postVerificationQuery } from '../verification-call.js';
import {
  type EnterpriseQuery,
  type EnterpriseVerifier,
  EnterpriseVerifierUnavailable,
} from './enterprise-verifier.js';

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
    return postVerificationQuery(
      this.#options,
      () => ({ ...query }),
      'enterprise verifier',
      (detail, _reason, cause) =>
        cause === undefined
          ? new EnterpriseVerifierUnavailable(detail)
          : new EnterpriseVerifierUnavailable(detail, { cause }),
    );
  }
}
