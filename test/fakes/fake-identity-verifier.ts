import { type SignedJsonServer, startSignedJsonServer } from './signed-json-server.js';

export interface KnownPerson {
  name: string;
  idNumber: string;
}

/**
 * A fake identity verification service over real HTTP that knows a few people: `match` for a
 * known ID number with its name, `mismatch` with another name, `not_found` for an unknown
 * number. Checks the signature like the real service; `faults.down`/`hang`, and `requests` counts
 * every request (retries included).
 */
export async function startFakeIdentityVerifier(
  secret: string,
  people: KnownPerson[],
  options: { now?: () => number } = {},
): Promise<SignedJsonServer> {
  return startSignedJsonServer(
    secret,
    (body) => {
      const { name, idNumber } = body;
      if (typeof name !== 'string' || typeof idNumber !== 'string') {
        return { status: 400, json: { code: 'BAD_REQUEST' } };
      }
      const person = people.find((p) => p.idNumber.toUpperCase() === idNumber.toUpperCase());
      if (!person) return { json: { result: 'not_found' } };
      return { json: { result: person.name === name ? 'match' : 'mismatch' } };
    },
    options.now ? { now: options.now } : {},
  );
}
