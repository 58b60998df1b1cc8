import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/databases.js';
import { basicAuth, type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';

const LIMIT = 20;

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

  const sharedCount = async (client: RelyingParty) => {
    const row = await a.database.db('rate_limits').where('key', `token:client:${client.clientId}`).first();
    return Number(row?.count ?? 0);
  };

  /** Until the processes' periodic flushes have added `count` hits to the shared row. */
  async function untilShared(client: RelyingParty, count: number) {
    const end = Date.now() + 30_000;
    while ((await sharedCount(client)) < count) {
      if (Date.now() > end) throw new Error(`the shared row never reached ${count}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function statuses(server: TestServer, client: RelyingParty, n: number) {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await token(server, client)).status);
    return out;
  }

  it('refuses a client over TOKEN_REQUESTS_PER_MINUTE on every process, and no other client', async () => {
    expect(await statuses(a, rp, 15)).toEqual(Array(15).fill(200));
    await untilShared(rp, 15);
    // B starts from A's 15: five more, then 429 with Retry-After.
    expect(await statuses(b, rp, 5)).toEqual(Array(5).fill(200));
    const refused = await token(b, rp);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: expect.any(String) });
    await untilShared(rp, LIMIT);
    // …and A learns B's five at its next flush (one begun before B's landed would not see them).
    await a.services.tokenLimiter.flush();
    await a.services.tokenLimiter.flush();
    expect((await token(a, rp)).status).toBe(429);
    expect(await statuses(a, other, 3)).toEqual([200, 200, 200]);
    expect(await sharedCount(rp)).toBe(LIMIT);
  });
});
