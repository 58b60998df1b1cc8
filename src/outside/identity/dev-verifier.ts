import { parseIdNumber } from '../../identifiers/id-number.js';
import type { IdentityVerifier, VerificationResult } from './identity-verifier.js';

/**
 * Development verifier: any ID number with a valid GB 11643 check character (and a real birth
 * date) matches whatever the name, so people can try 实名认证 without real identities; the page
 * says 开发模式. Refused in production, where it would verify anyone as anyone.
 */
export class DevIdentityVerifier implements IdentityVerifier {
  readonly kind = 'dev' as const;

  constructor(production: boolean) {
    if (production) {
      throw new Error(
        'IDENTITY_VERIFIER=dev: the development identity verifier is refused in production (NODE_ENV=production)',
      );
    }
  }

  async verify(input: { name: string; idNumber: string }): Promise<VerificationResult> {
    return parseIdNumber(input.idNumber).ok ? 'match' : 'not_found';
  }
}
