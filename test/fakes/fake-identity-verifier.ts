import { startSignedJsonServer } from './signed-json-server.js';

/** A fake identity verification service that knows a few people. */
export async function startFakeIdentityVerifier(
  secret: string,
  people: { name: string; idNumber: string }[],
) {
  return startSignedJsonServer(secret, (body) => {
    const person = people.find((p) => p.idNumber === body['idNumber']);
    if (!person) return { json: { result: 'not_found' } };
    return { json: { result: person.name === body['name'] ? 'match' : 'mismatch' } };
  });
}
