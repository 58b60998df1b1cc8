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
    // One proxy in front, so a request can come from an address of its own (X-Forwarded-For).
    const env = { TOKEN_REQUESTS_PER_MINUTE: String(LIMIT), TRUST_PROXY: '1' };
    a = await startTestServer({ kind, env });
    b = await startTestServer({ kind, env, sameDeploymentAs: a });
    rp = await registerRelyingParty(a);
    other = await registerRelyingParty(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const token = (server: TestServer, client: RelyingParty, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(client),
        'content-type': 'application/x-www-form-urlencoded',
        ...headers,
      },
      body: 'grant_type=client_credentials',
    });

  /** The client's hits from this test's own address, as the processes have added them up. */
  const sharedCount = async (client: RelyingParty) => {
    const rows = await a.database
      .db('rate_limits')
      .where('key', 'like', `token:client:${client.clientId}@%`)
      .whereNot('key', 'like', '%@203.0.113.%');
    return rows.reduce((sum, row) => sum + Number(row.count), 0);
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

  it("lets no stranger use up a site's allowance by naming its client_id without the secret", async () => {
    const site = await registerRelyingParty(a);
    const stranger = { ...site, clientSecret: 'not-the-secret' };
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const tries: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) tries.push((await token(a, stranger, from)).status);
    // The stranger is refused for the wrong secret, then for his own address's count…
    expect(tries.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(tries.slice(LIMIT)).toEqual([429, 429, 429]);
    // …while the site itself, from its own address, still gets its tokens.
    expect(await statuses(a, site, 3)).toEqual([200, 200, 200]);
  });
});
