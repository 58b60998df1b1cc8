import { errors } from 'oidc-provider';

/** OAuth's `temporarily_unavailable`, answered with 503, for a database that can not be reached. */
export function temporarilyUnavailable(cause: unknown): Error {
  const err = new errors.CustomOIDCProviderError(
    'temporarily_unavailable',
    'service temporarily unavailable',
  );
  Object.assign(err, { statusCode: 503, status: 503, cause });
  return err;
}
