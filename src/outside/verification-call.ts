import {
  postSignedJson,
  SignedCallFailed,
  type SignedCallFailureReason,
  type SignedJsonClientOptions,
} from './sms/hmac.js';

/** What the identity and enterprise verification services answer, in `{"result": …}`. */
export type VerificationAnswer = 'match' | 'mismatch' | 'not_found';

const RESULTS: ReadonlySet<unknown> = new Set<VerificationAnswer>(['match', 'mismatch', 'not_found']);

/**
 * One verification query to a service signed like the SMS gateway (./sms/README.md): posts the
 * body `buildBody` makes (for each attempt) and expects `{"result": "match" | "mismatch" |
 * "not_found"}`. Any failure, of the call or of the answer, becomes the caller's own
 * "unavailable" error, made by `unavailable` from a detail prefixed with `what`; the cause is
 * given only for a failed call.
 */
export async function postVerificationQuery(
  options: SignedJsonClientOptions,
  buildBody: () => unknown,
  what: string,
  unavailable: (detail: string, reason: SignedCallFailureReason, cause?: unknown) => Error,
): Promise<VerificationAnswer> {
  let answer: unknown;
  try {
    answer = await postSignedJson(options, buildBody);
  } catch (err) {
    // SignedCallFailed never carries the request body, so the person's data stays out of logs.
    if (err instanceof SignedCallFailed) {
      const code = err.details.answerCode ? ` (${err.details.answerCode})` : '';
      throw unavailable(
        `${what}: ${err.message}${code}, ${err.details.attempts} attempt(s)`,
        err.reason,
        err,
      );
    }
    throw err;
  }
  const result = (answer as { result?: unknown } | null)?.result;
  if (!RESULTS.has(result)) throw unavailable(`${what}: answer has no valid result`, 'bad_answer');
  return result as VerificationAnswer;
}
