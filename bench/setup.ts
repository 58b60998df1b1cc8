import * as oidc from 'openid-client';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/ops/logger.js';
import { createServices } from '../src/services.js';
import { REDIRECT_URI, type RelyingParty, randomPhone, signIn } from '../test/support/relying-party.js';
import { UserAgent } from '../test/support/user-agent.js';

export const CITIZEN_PASSWORD = 'Bench-Citizen#2024';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface Fixtures {
  /** Confidential clients allowed client_credentials; /token load is spread over them (per-client limit). */
  machines: ClientCredentials[];
  /** The site a citizen signs in to, for the userinfo token. */
  site: ClientCredentials;
  citizen: { phone: string; password: string };
}

/**
 * Registers the clients and the citizen the scenarios need, through the same services the CLI
 * uses, BEFORE the server starts: the embedded database belongs to one process, and is unlocked
 * again when this function closes it.
 */
export async function prepareFixtures(env: Record<string, string>, machineCount: number): Promise<Fixtures> {
  const config = loadConfig(env);
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database.db);
    const services = createServices(config, database.db, createLogger('warn'));
    const machines: ClientCredentials[] = [];
    for (let i = 0; i < machineCount; i++) {
      const created = await services.clients.add({
        name: `bench machine ${i} ${Date.now().toString(36)}`,
        grantTypes: ['client_credentials'],
        scopes: ['openid'],
        authMethod: 'client_secret_basic',
      });
      machines.push({ clientId: created.client_id, clientSecret: created.client_secret! });
    }
    const site = await services.clients.add({
      name: `bench site ${Date.now().toString(36)}`,
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'phone'],
      firstParty: true,
    });
    const citizen = { phone: randomPhone(), password: CITIZEN_PASSWORD };
    await services.accounts.addCitizen(citizen);
    return { machines, site: { clientId: site.client_id, clientSecret: site.client_secret! }, citizen };
  } finally {
    await database.close();
  }
}

/** Removes the bench's clients again (PostgreSQL: the database outlives the run). */
export async function removeClients(env: Record<string, string>, clientIds: string[]) {
  const config = loadConfig(env);
  const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const services = createServices(config, database.db, createLogger('warn'));
    for (const id of clientIds) await services.clients.remove(id).catch(() => {});
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
    undefined,
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
