import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import { registerRelyingParty, signIn } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgentAt } from '../support/user-agent.js';

const LIMIT = 3;
const PASSWORD = 'Proxy-Hops#2024';

/**
 * Behind one load balancer that appends the address it saw (TRUST_PROXY=1), a client writes what
 * it likes at the left of X-Forwarded-For; the limits must count the entry the balancer added.
 */
describe('TRUST_PROXY=1: the address is the one the load balancer saw', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: '1', TOKEN_REQUESTS_PER_MINUTE: String(LIMIT) } });
  });
  afterAll(() => server?.close());

  /** A /token request naming no client: it is counted on the client's address. */
  const anonymousToken = (forwardedFor: string) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
      body: 'grant_type=client_credentials',
    });

  it('a new spoofed address at the left of every request does not escape the per-address limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++)
      statuses.push((await anonymousToken(`198.51.100.${i}, 10.77.0.${i}, 203.0.113.7`)).status);
    expect(statuses.slice(0, LIMIT)).not.toContain(429);
    expect(statuses.slice(LIMIT)).toEqual([429, 429]);
    // Another client behind the same balancer has its own count.
    expect((await anonymousToken('198.51.100.0, 203.0.113.8')).status).not.toBe(429);
  });

  it('the audit log and 登录设备 record the address the balancer saw, not the claimed one', async () => {
    const { phone, id } = await addCitizen(server, PASSWORD);
    const rp = await registerRelyingParty(server, { firstParty: true });
    await signIn(new UserAgentAt('198.51.100.99, 203.0.113.21'), rp, {
      login: { login: phone, password: PASSWORD },
    });
    const login = await server.database
      .db('audit_events')
      .where({ type: 'login', outcome: 'success', account_id: id })
      .first();
    expect(login?.ip).toBe('203.0.113.21');
    // Recorded by oidc-provider's own request context, which reads the header the same way.
    const device = await server.database.db('session_meta').where({ account_id: id }).first();
    expect(device?.ip).toBe('203.0.113.21');
  });
});
