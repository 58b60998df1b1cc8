import { PERIODIC_STATEMENT } from '../src/db/database.js';
import { REDIRECT_URI, randomPhone, registerRelyingParty, signIn } from '../test/support/relying-party.js';
import { startTestServer } from '../test/support/server.js';
import { UserAgent } from '../test/support/user-agent.js';
import {
  type Authorized,
  BenchBrowser,
  exchangeCode,
  type FlowSite,
  issueSmsCode,
  outboxCount,
  passwordSignIn,
  refresh,
  ssoAuthorize,
} from './flows.js';
import { requestScenarios, sendOnce } from './request-scenarios.js';
import {
  BENCH_API,
  basicAuth,
  CITIZEN_PASSWORD,
  clientCredentialsToken,
  discoverEndpoints,
} from './setup.js';

export interface QueryProfile {
  scenario: string;
  /** Database statements per request (or per completed flow), averaged over the sample. */
  perRequest: number;
  /** How many requests or flows were counted. */
  sample: number;
  /** Each distinct statement (whitespace collapsed, shortened) with how often it ran per request. */
  statements: { sql: string; perRequest: number }[];
}

/** Requests counted per request scenario. */
const SAMPLE = 20;
/** Whole flows counted per flow scenario (each costs an argon2id verification or a fresh browser). */
const FLOW_SAMPLE = 5;

/** The scenario names of the flow rows, as the report and the targets know them. */
export const PASSWORD_LOGIN_PROFILE = 'password login (/auth → code at the redirect_uri)';

/**
 * Counts the SQL each scenario costs, on an in-process server with an in-memory embedded
 * database (the statements are the same on PostgreSQL). Runs before the load test, so it never
 * shares a CPU with it. Request scenarios: 20 sequential requests each. Flow scenarios: 5 whole
 * flows each, counted from their first request to their last.
 */
export async function profileQueries(): Promise<QueryProfile[]> {
  const server = await startTestServer({ env: { KEY_REFRESH_SECONDS: '3600' } });
  try {
    const phone = randomPhone();
    await server.services.accounts.addCitizen({ phone, password: CITIZEN_PASSWORD });
    const rp = await registerRelyingParty(server);
    await server.services.resources.add({
      identifier: BENCH_API.identifier,
      scopes: [BENCH_API.scope],
      format: 'jwt',
    });
    const client = { clientId: rp.clientId, clientSecret: rp.clientSecret! };
    const { endpoints } = await discoverEndpoints(server.issuer, client);
    const { tokens } = await signIn(new UserAgent(), rp, {
      login: { login: phone, password: CITIZEN_PASSWORD },
    });
    const ccToken = await clientCredentialsToken(server.url, endpoints.token, client);

    // A first-party site, as the bench's sites are: no consent page.
    const firstParty = await registerRelyingParty(server, { firstParty: true });
    const site: FlowSite = {
      base: server.url,
      paths: { authorization: endpoints.authorization, token: endpoints.token },
      client: { clientId: firstParty.clientId, clientSecret: firstParty.clientSecret! },
      redirectUri: REDIRECT_URI,
    };
    const citizen = { login: phone, password: CITIZEN_PASSWORD };
    // Distinct registered phones: one SMS per phone a minute (SMS_RULES).
    const smsPhones: string[] = [];
    for (let i = 0; i < FLOW_SAMPLE; i++) {
      smsPhones.push(randomPhone());
      await server.services.accounts.addCitizen({ phone: smsPhones[i]!, password: CITIZEN_PASSWORD });
    }
    // Made outside the counted flows: a browser with an SSO session, a refresh token, and codes.
    const ssoBrowser = new BenchBrowser();
    await passwordSignIn(ssoBrowser, site, citizen);
    const offline = await exchangeCode(
      site,
      await passwordSignIn(new BenchBrowser(), site, citizen, {
        scope: 'openid offline_access',
        prompt: 'consent',
        consent: true,
      }),
    );
    let refreshToken = offline.refresh_token;
    if (!refreshToken) throw new Error('no refresh token for offline_access');
    const codes: Authorized[] = [];
    const smsSent: string[] = [];

    const scenarios: { name: string; sample: number; run: () => Promise<unknown> }[] = [
      ...requestScenarios(endpoints, {
        machines: [client],
        introspection: [{ auth: basicAuth(client), token: ccToken }],
        userinfo: tokens.access_token,
        api: BENCH_API,
      }).map((scenario) => ({
        name: scenario.name,
        sample: SAMPLE,
        run: () => sendOnce(server.url, scenario, scenario.requests[0]!),
      })),
      {
        // A new browser each time: no SSO session, the login page, argon2id, the code.
        name: PASSWORD_LOGIN_PROFILE,
        sample: FLOW_SAMPLE,
        run: async () => codes.push(await passwordSignIn(new BenchBrowser(), site, citizen)),
      },
      {
        // The codes of the sign-ins above, redeemed by the site.
        name: 'code exchange (/token authorization_code + PKCE)',
        sample: FLOW_SAMPLE,
        run: async () => exchangeCode(site, codes.shift()!),
      },
      {
        name: 'authorize with an SSO session (/auth → code)',
        sample: FLOW_SAMPLE,
        run: () => ssoAuthorize(ssoBrowser, site),
      },
      {
        name: 'refresh (/token refresh_token, rotated)',
        sample: FLOW_SAMPLE,
        run: async () => {
          refreshToken = (await refresh(site, refreshToken!)).refresh_token;
        },
      },
      {
        name: 'SMS-code issue (pages, captcha, /dev/captcha, send)',
        sample: FLOW_SAMPLE,
        run: () => {
          const to = smsPhones.shift()!;
          smsSent.push(to);
          return issueSmsCode(new BenchBrowser(), site, to);
        },
      },
    ];

    let seen: string[] = [];
    // The sweeper's and the /token counters' timers run whatever the requests: not counted.
    const onQuery = (data: { sql: string }) => {
      if (!data.sql.startsWith(PERIODIC_STATEMENT)) seen.push(data.sql.replace(/\s+/g, ' ').trim());
    };
    server.database.db.on('query', onQuery);
    const profiles: QueryProfile[] = [];
    try {
      for (const scenario of scenarios) {
        seen = [];
        for (let i = 0; i < scenario.sample; i++) await scenario.run();
        const counts = new Map<string, number>();
        for (const sql of seen) counts.set(sql, (counts.get(sql) ?? 0) + 1);
        profiles.push({
          scenario: scenario.name,
          perRequest: seen.length / scenario.sample,
          sample: scenario.sample,
          statements: [...counts].map(([sql, n]) => ({
            sql: sql.length > 160 ? `${sql.slice(0, 157)}...` : sql,
            perRequest: n / scenario.sample,
          })),
        });
      }
    } finally {
      server.database.db.off('query', onQuery);
    }
    // The SMS flow's page says the same for unknown numbers: check that the codes really went out.
    for (const to of smsSent) {
      const n = await outboxCount(server.url, to);
      if (n !== 1) throw new Error(`SMS-code issue: ${n} messages to ${to} in the development outbox, not 1`);
    }
    return profiles;
  } finally {
    await server.close();
  }
}
