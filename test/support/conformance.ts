import { createHash, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { afterAll, beforeAll } from 'vitest';
import type { ClientInput } from '../../src/clients/client-service.js';
import { addCitizen } from './citizen.js';
import type { DatabaseKind } from './databases.js';
import { startTestServer, type TestServer } from './server.js';
import {
  formAction,
  hiddenField,
  type PageResponse,
  ProxiedUserAgent,
  type UserAgent,
} from './user-agent.js';

/**
 * A relying party that speaks plain HTTP to the provider, the way the OpenID Foundation's
 * conformance suite does: it builds its own requests (so it can also build wrong ones), sends a
 * cookie-keeping browser (UserAgent) through the login and consent pages, and reads every answer
 * raw, status and headers included. openid-client is deliberately not in the way here: it refuses
 * the very answers a conformance test has to look at.
 */

/**
 * The server a conformance file runs against: as any test server, behind a reverse proxy
 * (TRUST_PROXY) so that each simulated browser comes from its own address (`Browser`): a file
 * signs in more often than the per-address login limit lets one address.
 */
export function startConformanceServer(kind: DatabaseKind): Promise<TestServer> {
  return startTestServer({ kind, env: { TRUST_PROXY: 'true' } });
}

/** What a conformance file of one database kind signs in against. */
export interface ConformanceSetUp {
  server: TestServer;
  /** Citizens to sign in as. */
  people: People;
  /** A first-party site: no consent page, for tests about something else. */
  fp: Site;
}

/**
 * Starts a conformance server with people and a first-party site before the file's tests
 * (beforeAll) and stops it after them; the fields are there once the tests run. A file that needs
 * more on the same server registers it in a beforeAll of its own, after this call.
 */
export function useConformanceServer(kind: DatabaseKind): ConformanceSetUp {
  const setUp = {} as ConformanceSetUp;
  beforeAll(async () => {
    setUp.server = await startConformanceServer(kind);
    setUp.people = await People.create(setUp.server);
    setUp.fp = await registerSite(setUp.server, { firstParty: true });
  });
  afterAll(() => setUp.server?.close());
  return setUp;
}

/** A person's browser (a cookie jar, see UserAgent), from an address of its own (X-Forwarded-For). */
export class Browser extends ProxiedUserAgent {}

export interface Person {
  login: string;
  password: string;
}

/**
 * Citizens to sign in as, taken in turn: the provider allows 30 sign-ins per account in 15
 * minutes, and a conformance file signs in more often than that.
 */
export class People {
  #next = 0;
  private constructor(private readonly all: Person[]) {}

  static async create(server: TestServer, count = 3): Promise<People> {
    const password = `Conf-${randomBytes(4).toString('hex')}#2024`;
    const all: Person[] = [];
    for (let i = 0; i < count; i++) all.push({ login: (await addCitizen(server, password)).phone, password });
    return new People(all);
  }

  next(): Person {
    const person = this.all[this.#next++ % this.all.length]!;
    return person;
  }
}

export const SITE = 'https://rp.example.gov.cn';
export const REDIRECT_URI = `${SITE}/callback`;
export const POST_LOGOUT_REDIRECT_URI = `${SITE}/logged-out`;

export interface Site {
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  authMethod: string;
}

/** Registers a site the way an operator does (the client service behind the CLI and admin API). */
export async function registerSite(server: TestServer, input: Partial<ClientInput> = {}): Promise<Site> {
  const created = await server.services.clients.add({
    name: `一致性测试 ${randomBytes(3).toString('hex')}`,
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'profile', 'phone', 'offline_access'],
    ...input,
  });
  return {
    clientId: created.client_id,
    clientSecret: created.client_secret,
    redirectUri: input.redirectUris?.[0] ?? REDIRECT_URI,
    authMethod: input.authMethod ?? (input.applicationType === 'native' ? 'none' : 'client_secret_basic'),
  };
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** One authorization request: PKCE S256, state and nonce, and the URL that carries them. */
export interface AuthRequest {
  url: URL;
  params: Record<string, string>;
  verifier: string;
  state: string;
  nonce: string;
}

/**
 * The URL of an authorization request from `site`: code flow, PKCE S256, a state and a nonce,
 * scope `openid`, unless `params` says otherwise; a parameter given as `undefined` is left out.
 */
export function authRequest(
  server: TestServer,
  site: Site,
  params: Record<string, string | undefined> = {},
): AuthRequest {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(12));
  const nonce = b64url(randomBytes(12));
  const all: Record<string, string | undefined> = {
    client_id: site.clientId,
    redirect_uri: site.redirectUri,
    response_type: 'code',
    scope: 'openid',
    state,
    nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    ...params,
  };
  const defined = Object.fromEntries(
    Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const url = new URL('/auth', server.issuer);
  url.search = new URLSearchParams(defined).toString();
  return {
    url,
    params: defined,
    verifier,
    state: defined['state'] ?? state,
    nonce: defined['nonce'] ?? nonce,
  };
}

export interface Outcome {
  /** The last response: a redirect to the site, a form_post page, or a page the flow stopped at. */
  response: PageResponse;
  /** The site's redirect with its query, when the provider sent the browser back. */
  callback: URL | undefined;
  /** Login and consent pages the browser was shown, in order. */
  pagesSeen: string[];
}

/**
 * Walks the browser from `start` through the provider's pages: fills the login form as `person`
 * (when given) and answers the consent page with `consent`, until a redirect leaves for `stopAt`
 * (the redirect URI; any port for a loopback one) or a page is shown that it can not fill.
 */
export async function walk(
  ua: UserAgent,
  start: PageResponse,
  stopAt: string,
  options: { person?: Person | undefined; consent?: 'allow' | 'deny' } = {},
): Promise<Outcome> {
  const leaves = (location: string | undefined) => !!location && sameTarget(location, stopAt);
  const follow = async (res: PageResponse) => {
    let r = res;
    for (let i = 0; i < 20 && r.location && !leaves(r.location); i++) r = await ua.get(r.location);
    return r;
  };
  let res = await follow(start);
  const pagesSeen: string[] = [];
  for (let step = 0; step < 6 && !leaves(res.location); step++) {
    if (/action="\/interaction\/[^"]+\/login"/.test(res.body) && options.person) {
      if (pagesSeen.includes('login')) break; // shown again: the login failed
      pagesSeen.push('login');
      res = await ua.post(formAction(res.body, '/login', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        ...options.person,
      });
    } else if (res.body.includes('授权确认') && options.consent) {
      pagesSeen.push('consent');
      res = await ua.post(formAction(res.body, '/confirm', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        decision: options.consent,
      });
    } else {
      break;
    }
    res = await follow(res);
  }
  return { response: res, callback: leaves(res.location) ? new URL(res.location!) : undefined, pagesSeen };
}

/** Whether `location` goes to `target`: the same URL up to its query, any port for a loopback target. */
function sameTarget(location: string, target: string): boolean {
  if (location.startsWith(target)) return true;
  const a = URL.parse(location);
  const b = URL.parse(target);
  if (!a || !b) return false;
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(b.hostname) && b.protocol === 'http:';
  return loopback && a.protocol === b.protocol && a.hostname === b.hostname && a.pathname === b.pathname;
}

/** Sends the browser to an authorization request and walks it to the site (see `walk`). */
export async function authorize(
  ua: UserAgent,
  request: AuthRequest,
  options: { person?: Person | undefined; consent?: 'allow' | 'deny'; method?: 'GET' | 'POST' } = {},
): Promise<Outcome> {
  const redirectUri = request.params['redirect_uri'] ?? REDIRECT_URI;
  const first =
    options.method === 'POST'
      ? await ua.post(`${request.url.origin}${request.url.pathname}`, request.params)
      : await ua.get(request.url);
  return walk(ua, first, redirectUri, { consent: 'allow', ...options });
}

/** The hidden fields of a form_post response page (OAuth 2.0 Form Post Response Mode §2). */
export function formPostFields(page: PageResponse): { action: string; fields: Record<string, string> } {
  const action =
    /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(page.body)?.[1] ??
    /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(page.body)?.[1];
  if (!action) throw new Error(`not a form_post page: ${page.body.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const [, name, value] of page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[name!] = unescapeHtml(value!);
  }
  return { action: unescapeHtml(action), fields };
}

function unescapeHtml(s: string): string {
  return s
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#x27;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or {} when there was none or it was not JSON. */
  json: Record<string, unknown>;
  text: string;
}

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = {};
  }
  return { status: res.status, headers: res.headers, json, text };
}

export type ClientAuth = 'client_secret_basic' | 'client_secret_post' | 'none' | { authorization: string };

/** The HTTP Basic credentials of RFC 6749 §2.3.1 (both parts form-encoded first). */
export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * A form POST to one of the provider's client endpoints (/token, /token/introspection,
 * /token/revocation, /request), authenticated as `site` by its registered method unless `auth`
 * says otherwise.
 */
export async function post(
  server: TestServer,
  path: string,
  site: Site | undefined,
  form: Record<string, string>,
  auth?: ClientAuth,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body: Record<string, string> = {};
  const how = auth ?? (site?.authMethod as ClientAuth | undefined) ?? 'none';
  if (site) {
    if (typeof how === 'object') headers['authorization'] = how.authorization;
    else if (how === 'client_secret_basic')
      headers['authorization'] = basic(site.clientId, site.clientSecret!);
    else if (how === 'client_secret_post')
      Object.assign(body, { client_id: site.clientId, client_secret: site.clientSecret! });
    else body['client_id'] = site.clientId;
  }
  const res = await fetch(new URL(path, server.issuer), {
    method: 'POST',
    headers,
    body: new URLSearchParams({ ...body, ...form }),
  });
  return answerOf(res);
}

/** Redeems the code of `callback` (OIDC Core 3.1.3.1), with the request's PKCE verifier and redirect URI. */
export function redeem(
  server: TestServer,
  site: Site,
  request: AuthRequest,
  callback: URL,
  extra: Record<string, string> = {},
): Promise<Answer> {
  return post(server, '/token', site, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code') ?? '',
    redirect_uri: request.params['redirect_uri'] ?? site.redirectUri,
    code_verifier: request.verifier,
    ...extra,
  });
}

export interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** A whole sign-in at `site`: the request, the pages, the code exchange; fails unless tokens come back. */
export async function signIn(
  server: TestServer,
  site: Site,
  options: { ua?: UserAgent; person?: Person; params?: Record<string, string | undefined> } = {},
): Promise<{ tokens: Tokens; request: AuthRequest; callback: URL; ua: UserAgent }> {
  const ua = options.ua ?? new Browser();
  const request = authRequest(server, site, options.params);
  const outcome = await authorize(ua, request, { person: options.person });
  if (!outcome.callback?.searchParams.get('code')) {
    throw new Error(
      `no code: ${outcome.response.status} ${outcome.response.location ?? ''} ${outcome.response.body.slice(0, 300)}`,
    );
  }
  const answer = await redeem(server, site, request, outcome.callback);
  if (answer.status !== 200) throw new Error(`code exchange failed: ${answer.status} ${answer.text}`);
  return { tokens: answer.json as unknown as Tokens, request, callback: outcome.callback, ua };
}

/** GET /me with a bearer token (OIDC Core 5.3.1). */
export async function userinfo(
  server: TestServer,
  accessToken: string,
  init: RequestInit = {},
): Promise<Answer> {
  const res = await fetch(new URL('/me', server.issuer), {
    ...init,
    headers: { authorization: `Bearer ${accessToken}`, ...(init.headers as Record<string, string>) },
  });
  return answerOf(res);
}

/** Introspection (RFC 7662 §2.1) by `site`, with an optional token_type_hint. */
export function introspect(server: TestServer, site: Site, token: string, hint?: string): Promise<Answer> {
  return post(server, '/token/introspection', site, { token, ...(hint ? { token_type_hint: hint } : {}) });
}

/** Revocation (RFC 7009 §2.1) by `site`, with an optional token_type_hint. */
export function revoke(server: TestServer, site: Site, token: string, hint?: string): Promise<Answer> {
  return post(server, '/token/revocation', site, { token, ...(hint ? { token_type_hint: hint } : {}) });
}

/** The provider's published keys, fetched once per server. */
const keySets = new WeakMap<TestServer, ReturnType<typeof jose.createRemoteJWKSet>>();

/** Verifies a JWT the provider signed (ID token, logout token) against its /jwks. */
export async function verifySigned(server: TestServer, jwt: string, options: jose.JWTVerifyOptions = {}) {
  let keys = keySets.get(server);
  if (!keys) {
    keys = jose.createRemoteJWKSet(new URL('/jwks', server.issuer));
    keySets.set(server, keys);
  }
  return jose.jwtVerify(jwt, keys, { issuer: server.issuer, ...options });
}

/** The left half of the SHA-256 of `value`, base64url: at_hash and c_hash for ES256/RS256 (OIDC Core 3.1.3.6). */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value).digest();
  return b64url(digest.subarray(0, digest.length / 2));
}

/** The parameters of a WWW-Authenticate challenge (RFC 6750 §3). */
export function challenge(headers: Headers): { scheme: string; params: Record<string, string> } {
  const value = headers.get('www-authenticate') ?? '';
  const scheme = value.split(' ')[0] ?? '';
  const params: Record<string, string> = {};
  for (const [, k, v] of value.matchAll(/(\w+)="([^"]*)"/g)) params[k!] = v!;
  return { scheme, params };
}
