import { registerRelyingParty, signIn } from '../test/support/relying-party.js';
import { startTestServer } from '../test/support/server.js';
import { UserAgent } from '../test/support/user-agent.js';
import { basicAuth, CITIZEN_PASSWORD, clientCredentialsToken, discoverEndpoints } from './setup.js';

export interface QueryProfile {
  scenario: string;
  /** Database statements per request, averaged over the sample. */
  perRequest: number;
  /** Each distinct statement (whitespace collapsed, shortened) with how often it ran per request. */
  statements: { sql: string; perRequest: number }[];
}

const SAMPLE = 20;

/**
 * Counts the SQL each scenario's request costs, on an in-process server with an in-memory
 * embedded database (the statements are the same on PostgreSQL). Runs before the load test,
 * so it never shares a CPU with it.
 */
export async function profileQueries(): Promise<QueryProfile[]> {
  const server = await startTestServer({ env: { KEY_REFRESH_SECONDS: '3600' } });
  try {
    const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    await server.services.accounts.addCitizen({ phone, password: CITIZEN_PASSWORD });
    const rp = await registerRelyingParty(server);
    const client = { clientId: rp.clientId, clientSecret: rp.clientSecret! };
    const { endpoints } = await discoverEndpoints(server.issuer, client);
    const { tokens } = await signIn(new UserAgent(), rp, {
      login: { login: phone, password: CITIZEN_PASSWORD },
    });
    const ccToken = await clientCredentialsToken(server.url, endpoints.token, client);

    const form = { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' };
    const scenarios: { name: string; request: () => Promise<Response> }[] = [
      {
        name: 'client credentials',
        request: () =>
          fetch(new URL(endpoints.token, server.url), {
            method: 'POST',
            headers: form,
            body: 'grant_type=client_credentials',
          }),
      },
      {
        name: 'introspection',
        request: () =>
          fetch(new URL(endpoints.introspection, server.url), {
            method: 'POST',
            headers: form,
            body: `token=${encodeURIComponent(ccToken)}`,
          }),
      },
      {
        name: 'userinfo',
        request: () =>
          fetch(new URL(endpoints.userinfo, server.url), {
            headers: { authorization: `Bearer ${tokens.access_token}` },
          }),
      },
      { name: 'jwks', request: () => fetch(new URL(endpoints.jwks, server.url)) },
    ];

    let seen: string[] = [];
    const onQuery = (data: { sql: string }) => seen.push(data.sql.replace(/\s+/g, ' ').trim());
    server.database.db.on('query', onQuery);
    const profiles: QueryProfile[] = [];
    try {
      for (const scenario of scenarios) {
        seen = [];
        for (let i = 0; i < SAMPLE; i++) {
          const res = await scenario.request();
          const body = await res.text();
          if (res.status !== 200) throw new Error(`${scenario.name}: ${res.status} ${body.slice(0, 300)}`);
        }
        const counts = new Map<string, number>();
        for (const sql of seen) counts.set(sql, (counts.get(sql) ?? 0) + 1);
        profiles.push({
          scenario: scenario.name,
          perRequest: seen.length / SAMPLE,
          statements: [...counts].map(([sql, n]) => ({
            sql: sql.length > 160 ? `${sql.slice(0, 157)}...` : sql,
            perRequest: n / SAMPLE,
          })),
        });
      }
    } finally {
      server.database.db.off('query', onQuery);
    }
    return profiles;
  } finally {
    await server.close();
  }
}
