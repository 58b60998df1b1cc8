import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/databases.js';
import { basicAuth, type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';

const LIMIT = 20;
/** Longer than one flush of the in-memory counters (every second). */
const FLUSHED = 2_500;

describe.each(databaseKinds())('/token requests per client, shared by two processes (%s)', (kind) => {
  let a: TestServer;
  let b: TestServer;
  let rp: RelyingParty;
  let other: RelyingParty;

  beforeAll(async () => {
    const env = { TOKEN_REQUESTS_PER_MINUTE: String(LIMIT) };
    a = await startTestServer({ kind, env });
    b = await startTestServer({ kind, env, sameDeploymentAs: a });
    rp = await registerRelyingParty(a);
    other = await registerRelyingParty(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const token = (server: TestServer, client: RelyingParty) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(client),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });

  async function statuses(server: TestServer, client: RelyingParty, n: number) {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await token(server, client)).status);
    return out;
  }

  it('refuses a client over TOKEN_REQUESTS_PER_MINUTE on every process, and no other client', async () => {
    expect(await statuses(a, rp, 15)).toEqual(Array(15).fill(200));
    await sleep(FLUSHED);
    // B has learnt A's 15: five more, then 429 with Retry-After.
    expect(await statuses(b, rp, 5)).toEqual(Array(5).fill(200));
    const refused = await token(b, rp);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: expect.any(String) });
    await sleep(FLUSHED);
    // …and A has learnt B's five.
    expect((await token(a, rp)).status).toBe(429);
    expect(await statuses(a, other, 3)).toEqual([200, 200, 200]);
    const row = await a.database.db('rate_limits').where('key', `token:client:${rp.clientId}`).first();
    expect(Number(row.count)).toBe(LIMIT);
  });
});
