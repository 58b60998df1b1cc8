import { SignedPostFailed, type SignedPostOptions, signedPost } from '../signed-request.js';
import { type IdentityVerifier, type VerificationResult, VerifierUnavailable } from './identity-verifier.js';

const RESULTS: readonly VerificationResult[] = ['match', 'mismatch', 'not_found'];

/** JSON POST `{name, idNumber}`, signed like the SMS gateway, answered `{result: "match" | "mismatch" | "not_found"}`. */
export class HttpIdentityVerifier implements IdentityVerifier {
  readonly kind = 'http' as const;

  constructor(private readonly options: SignedPostOptions) {}

  async verify(input: { name: string; idNumber: string }): Promise<VerificationResult> {
    let answer: unknown;
    try {
      answer = await signedPost(this.options, { name: input.name, idNumber: input.idNumber });
    } catch (err) {
      if (err instanceof SignedPostFailed) throw new VerifierUnavailable(err.message);
      throw err;
    }
    const result = (answer as { result?: string })?.result as VerificationResult;
    if (!RESULTS.includes(result)) throw new VerifierUnavailable('unexpected answer from the verifier');
    return result;
  }
}
