import { randomInt, randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { createServices } from '../src/app/services.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, rowsOf } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/ops/logger.js';
import { REDIRECT_URI, type RelyingParty, randomPhone, signIn } from '../test/support/relying-party.js';
import { UserAgent } from '../test/support/user-agent.js';

export const CITIZEN_PASSWORD = 'Bench-Citizen#2024';

/** The API the JWT scenario's client-credentials tokens are for (a resource server, RFC 8707). */
export const BENCH_API = { identifier: 'https://api.bench.example.gov.cn', scope: 'bench:read' };

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** A simulated citizen of the flow scenarios: an account and the address its browser comes from. */
export interface BenchCitizen {
  id: string;
  /** The national mobile number, as typed into the login form. */
  phone: string;
  password: string;
  /** Sent as X-Forwarded-For (the server runs with TRUST_PROXY=true). */
  ip: string;
}

export interface Fixtures {
  /** Confidential clients allowed client_credentials; /token load is spread over them (per-client limit). */
  machines: ClientCredentials[];
  /** The site a citizen signs in to, for the userinfo token (the first of `sites`). */
  site: ClientCredentials;
  /**
   * First-party sites (no consent page) with authorization_code, refresh_token and offline_access;
   * the flow scenarios spread their /token requests over them (per-client /token limit).
   */
  sites: ClientCredentials[];
  citizen: { phone: string; password: string };
  /** Citizens the password-login, SSO and refresh scenarios sign in (LIMITS.loginPerAccount each). */
  loginCitizens: BenchCitizen[];
  /** Registered phones the SMS-code scenario sends to, each once per run (SMS_RULES). */
  smsCitizens: BenchCitizen[];
}

/** Distinct random mainland mobile numbers (national form). */
function distinctPhones(count: number, taken: Set<string>): string[] {
  const phones: string[] = [];
  while (phones.length < count) {
    const phone = `1${randomInt(3, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
    if (taken.has(phone)) continue;
    taken.add(phone);
    phones.push(phone);
  }
  return phones;
}

/** Distinct random addresses in 10.0.0.0/8, new each run. */
function distinctAddresses(count: number, taken: Set<string>): string[] {
  const addresses: string[] = [];
  while (addresses.length < count) {
    const ip = `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    if (taken.has(ip)) continue;
    taken.add(ip);
    addresses.push(ip);
  }
  return addresses;
}

/**
 * Registers the clients and the citizen the scenarios need, through the same services the CLI
 * uses, BEFORE the server starts: the embedded database belongs to one process, and is unlocked
 * again when this function closes it.
 */
export async function prepareFixtures(
  env: Record<string, string>,
  counts: { machines: number; sites: number; loginCitizens: number; smsPhones: number },
): Promise<Fixtures> {
  const config = loadConfig(env);
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database.db);
    const services = createServices(config, database.db, createLogger('warn'));
    // Kept from an earlier run on PostgreSQL when that run was interrupted.
    if (!(await services.resources.list()).some((r) => r.identifier === BENCH_API.identifier)) {
      await services.resources.add({
        identifier: BENCH_API.identifier,
        scopes: [BENCH_API.scope],
        format: 'jwt',
        ttl: 600,
      });
    }
    const machines: ClientCredentials[] = [];
    for (let i = 0; i < counts.machines; i++) {
      const created = await services.clients.add({
        name: `bench machine ${i} ${Date.now().toString(36)}`,
        grantTypes: ['client_credentials'],
        scopes: ['openid'],
        authMethod: 'client_secret_basic',
      });
      machines.push({ clientId: created.client_id, clientSecret: created.client_secret! });
    }
    const sites: ClientCredentials[] = [];
    for (let i = 0; i < Math.max(1, counts.sites); i++) {
      const site = await services.clients.add({
        name: `bench site ${i} ${Date.now().toString(36)}`,
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'profile', 'phone', 'offline_access'],
        firstParty: true,
      });
      sites.push({ clientId: site.client_id, clientSecret: site.client_secret! });
    }
    const citizen = { phone: randomPhone(), password: CITIZEN_PASSWORD };
    await services.accounts.addCitizen(citizen);

    // Thousands of accounts: inserted in batches with the columns AccountService.addCitizen writes
    // and one argon2id hash made by the product's hasher (same parameters), instead of hashing each.
    const passwordHash = await services.accounts.passwords.hash(CITIZEN_PASSWORD);
    const phonesTaken = new Set([citizen.phone]);
    const addressesTaken = new Set<string>();
    const addCitizens = async (count: number): Promise<BenchCitizen[]> => {
      const added: BenchCitizen[] = [];
      while (added.length < count) {
        const batch = distinctPhones(Math.min(500, count - added.length), phonesTaken).map((phone) => ({
          id: randomUUID(),
          user_type: 'natural_person' as const,
          phone: `+86${phone}`,
          password_hash: passwordHash,
          certification_level: 'L1' as const,
        }));
        // A number an earlier run left in the database is skipped: its counters are not fresh.
        const inserted = rowsOf<{ id: string; phone: string }>(
          await database.db('accounts').insert(batch).onConflict('phone').ignore().returning(['id', 'phone']),
        );
        const addresses = distinctAddresses(inserted.length, addressesTaken);
        for (const [i, row] of inserted.entries()) {
          added.push({
            id: row.id,
            phone: row.phone.slice(3),
            password: CITIZEN_PASSWORD,
            ip: addresses[i]!,
          });
        }
      }
      return added;
    };
    const loginCitizens = await addCitizens(counts.loginCitizens);
    const smsCitizens = await addCitizens(counts.smsPhones);
    return { machines, site: sites[0]!, sites, citizen, loginCitizens, smsCitizens };
  } finally {
    await database.close();
  }
}

/**
 * Removes the bench's clients and the flow scenarios' accounts again (PostgreSQL: the database
 * outlives the run). Their tokens, SMS codes and counters expire or are swept.
 */
export async function removeFixtures(env: Record<string, string>, fixtures: Fixtures) {
  const config = loadConfig(env);
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const services = createServices(config, database.db, createLogger('warn'));
    for (const { clientId } of [...fixtures.machines, ...fixtures.sites])
      await services.clients.remove(clientId).catch(() => {});
    await services.resources.remove(BENCH_API.identifier).catch(() => {});
    const ids = [...fixtures.loginCitizens, ...fixtures.smsCitizens].map((c) => c.id);
    for (let i = 0; i < ids.length; i += 500) {
      await database
        .db('accounts')
        .whereIn('id', ids.slice(i, i + 500))
        .delete();
    }
  } finally {
    await database.close();
  }
}

export interface Endpoints {
  authorization: string;
  token: string;
  introspection: string;
  userinfo: string;
  jwks: string;
}

/** The endpoint paths as the provider publishes them in its discovery document. */
export async function discoverEndpoints(issuer: string, site: ClientCredentials) {
  const config = await oidc.discovery(
    new URL(issuer),
    site.clientId,
    { client_secret: site.clientSecret },
    // As registered: the provider refuses client_secret_post (openid-client's default) from a basic client.
    oidc.ClientSecretBasic(site.clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
  const m = config.serverMetadata();
  const pathOf = (name: string, value: string | undefined) => {
    if (!value) throw new Error(`discovery has no ${name}`);
    return new URL(value).pathname;
  };
  const endpoints: Endpoints = {
    authorization: pathOf('authorization_endpoint', m.authorization_endpoint),
    token: pathOf('token_endpoint', m.token_endpoint),
    introspection: pathOf('introspection_endpoint', m.introspection_endpoint),
    userinfo: pathOf('userinfo_endpoint', m.userinfo_endpoint),
    jwks: pathOf('jwks_uri', m.jwks_uri),
  };
  return { config, endpoints };
}

/** A citizen signs in through the real login and consent pages; returns the site's access token. */
export async function citizenAccessToken(
  config: oidc.Configuration,
  site: ClientCredentials,
  citizen: Fixtures['citizen'],
): Promise<string> {
  const rp: RelyingParty = {
    clientId: site.clientId,
    clientSecret: site.clientSecret,
    redirectUri: REDIRECT_URI,
    config,
  };
  const { tokens } = await signIn(new UserAgent(), rp, {
    login: { login: citizen.phone, password: citizen.password },
  });
  return tokens.access_token;
}

export function basicAuth(client: ClientCredentials): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(client.clientSecret)}`).toString('base64')}`;
}

/** One client-credentials token, over plain HTTP so a failure shows the provider's answer. */
export async function clientCredentialsToken(url: string, tokenPath: string, client: ClientCredentials) {
  const res = await fetch(new URL(tokenPath, url), {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`client_credentials for ${client.clientId}: ${res.status} ${body}`);
  return (JSON.parse(body) as { access_token: string }).access_token;
}
