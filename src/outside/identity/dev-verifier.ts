import { parseIdNumber } from '../../accounts/id-number.js';
import type { IdentityVerifier, VerificationResult } from './identity-verifier.js';

/** Development verifier: any ID number with a valid check character matches. Refused in production. */
export class DevIdentityVerifier implements IdentityVerifier {
  readonly kind = 'dev' as const;

  constructor(production: boolean) {
    if (production)
      throw new Error('IDENTITY_VERIFIER=dev: the development identity verifier is refused in production');
  }

  async verify(input: { name: string; idNumber: string }): Promise<VerificationResult> {
    return parseIdNumber(input.idNumber).ok ? 'match' : 'not_found';
  }
}
