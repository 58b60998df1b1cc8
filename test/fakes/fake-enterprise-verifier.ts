import { type SignedJsonServer, startSignedJsonServer } from './signed-json-server.js';

export interface KnownEnterprise {
  creditCode: string;
  orgName: string;
  representativeName: string;
}

/** A fake enterprise registry over real HTTP: match, mismatch (other name or representative) or not_found. */
export async function startFakeEnterpriseVerifier(
  secret: string,
  known: KnownEnterprise[],
): Promise<SignedJsonServer> {
  return startSignedJsonServer(secret, (body) => {
    const found = known.find((e) => e.creditCode === body['creditCode']);
    if (!found) return { json: { result: 'not_found' } };
    const same = found.orgName === body['orgName'] && found.representativeName === body['representativeName'];
    return { json: { result: same ? 'match' : 'mismatch' } };
  });
}
