import { parseCreditCode } from '../../identifiers/credit-code.js';
import type { EnterpriseQuery, EnterpriseVerifier } from './enterprise-verifier.js';

/** Development: any credit code with a valid check character matches. Refused in production. */
export class DevEnterpriseVerifier implements EnterpriseVerifier {
  readonly kind = 'dev' as const;

  constructor(production: boolean) {
    if (production)
      throw new Error(
        'ENTERPRISE_VERIFIER=dev: the development enterprise verifier is refused in production',
      );
  }

  async verify(query: EnterpriseQuery) {
    return parseCreditCode(query.creditCode).ok ? ('match' as const) : ('not_found' as const);
  }
}
