import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { basicAuth, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// Needs a real PostgreSQL behind a connection that can be cut; CI provides one.
describe.skipIf(!process.env['TEST_DATABASE_URL'])('when PostgreSQL goes away and comes back', () => {
  let server: TestServer;
  let proxy: TcpProxy;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    server = await startTestServer({ env: { DATABASE_URL: viaProxy.href } });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 503 while it is down and recovers without a restart', async () => {
    const rp = await registerRelyingParty(server);
    expect((await oidc.clientCredentialsGrant(rp.config, {})).access_token).toBeTruthy();

    await proxy.cut();
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    const token = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(rp),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(503);
    expect(((await token.json()) as { error: string }).error).toBe('temporarily_unavailable');
    const page = await fetch(`${server.url}/interaction/anything`, { headers: { accept: 'text/html' } });
    expect([400, 503]).toContain(page.status);
    expect(await page.text()).not.toMatch(/at \w+ \(|node_modules/);

    await proxy.restore();
    let recovered = 0;
    for (let i = 0; i < 50 && recovered !== 200; i++) {
      recovered = (await fetch(`${server.url}/readyz`)).status;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(200);
    expect((await oidc.clientCredentialsGrant(rp.config, {})).access_token).toBeTruthy();
  });
});
