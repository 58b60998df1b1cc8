import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, submit } from '../../test/support/citizen.js';
import { startTestServer, type TestServer } from '../../test/support/server.js';
import { type PageResponse, UserAgent } from '../../test/support/user-agent.js';
import { ACR } from '../access/scopes.js';
import { cookieKeys } from '../crypto/cookie-keys.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { FirstPartySession, FirstPartySite } from './first-party-site.js';
import { type OwnEndpoints, ownEndpoints, ownUrlOf } from './own-endpoints.js';
import { FirstPartySignIn } from './sign-in.js';

// The sign-in of a site of the provider itself against a real provider started in this process:
// the browser walks the provider's pages, and the site's callback (a small Koa app of the test,
// at the browser's host, holding the provider's cookie keys as the real app does) calls
// `finish`. The attacks an attacker can make on the round trip are tried one by one; what opens
// nothing says why in the log. Everything is built inside each test (docs/mutation-testing.md).

const PASSWORD = 'Qian-Ming#2024';

type Outcome = Awaited<ReturnType<FirstPartySignIn['finish']>>;
interface LogLine {
  msg: string;
  site?: string;
  reason?: string;
  err?: string;
}

interface TestSite {
  site: FirstPartySite;
  signIn: FirstPartySignIn;
  logs: LogLine[];
  /** The callback registered for the site (at the provider's address). */
  redirectUri: string;
}

interface Options {
  confidential?: boolean;
  minimumAcr?: string;
  clientId?: string;
  /** Another provider's address than the test server's (a provider of fake endpoints). */
  issuer?: string;
  /** The process's own endpoints as the site reaches them, wrapped (a failure planted). */
  endpoints?: (real: OwnEndpoints) => OwnEndpoints;
  /** The provider as the site finds the browser's SSO session, wrapped. */
  host?: (real: ProviderHost) => ProviderHost;
}

/** One sign-in's way back: the callback at the site, with the code and state it carries. */
interface RoundTrip {
  callback: URL;
  code: string;
  state: string;
}

let server: TestServer;
let harness: Server;
let origin = '';
const sites = new Map<string, FirstPartySignIn>();

beforeAll(async () => {
  server = await startTestServer();
  const app = new Koa({
    keys: cookieKeys(server.config.cookieKeys, server.config.cryptoProfile) as unknown as string[],
  });
  app.use(async (ctx) => {
    const [, path, action] = /^(\/[^/]+)\/(begin|callback)$/.exec(ctx.path) ?? [];
    const signIn = sites.get(path ?? '');
    if (!signIn) return;
    if (action === 'begin') {
      const returnTo = String(ctx.query['return_to']);
      ctx.redirect(await signIn.begin(ctx, returnTo, ctx.query['fresh'] === '1'));
    } else {
      ctx.body = { outcome: (await signIn.finish(ctx)) ?? null };
    }
  });
  harness = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => harness.once('listening', resolve));
  // The browser's host name is the provider's: its cookies (the SSO session, the browser id) come along.
  origin = `http://localhost:${(harness.address() as AddressInfo).port}`;
});
afterAll(async () => {
  harness?.close();
  await server?.close();
});

/** A site of the provider, registered as a first-party client, with a sign-in of its own. */
async function siteOf(options: Options = {}): Promise<TestSite> {
  const path = `/site-${randomBytes(6).toString('hex')}`;
  const redirectUri = `${server.issuer}${path}/callback`;
  const clientId =
    options.clientId ??
    (
      await server.services.clients.add({
        name: `测试站点 ${path}`,
        redirectUris: [redirectUri],
        grantTypes: ['authorization_code'],
        scopes: ['openid'],
        authMethod: options.confidential ? 'client_secret_basic' : 'none',
        firstParty: true,
      })
    ).client_id;
  const site: FirstPartySite = {
    name: `测试站点 ${path}`,
    clientId,
    path,
    scope: 'openid',
    loginKind: 'account-login',
    sessionKind: 'account-session',
    cookie: 'site_session',
    idleTimeoutSeconds: 900,
    ...(options.minimumAcr ? { minimumAcr: options.minimumAcr } : {}),
    freshSignIn: async () => false,
    home: path,
    refusedPath: `${path}/signed-out`,
  };
  const logs: LogLine[] = [];
  const log = {
    warn: (fields: Omit<LogLine, 'msg'>, msg: string) => logs.push({ ...fields, msg }),
  } as unknown as Logger;
  const real = ownEndpoints(server.issuer, () => ownUrlOf(server.server.address()));
  const signIn = new FirstPartySignIn(
    {
      issuer: options.issuer ?? server.issuer,
      host: options.host ? options.host(server.host) : server.host,
      flowStates: server.services.flowStates,
      clients: server.services.clients,
      endpoints: options.endpoints ? options.endpoints(real) : real,
      log,
    },
    site,
  );
  sites.set(path, signIn);
  return { site, signIn, logs, redirectUri };
}

/** The site sends the browser to the provider: the authorization request's address. */
async function begin(ua: UserAgent, s: TestSite, { returnTo = `${s.site.path}/page`, fresh = false } = {}) {
  const query = new URLSearchParams({ return_to: returnTo, ...(fresh ? { fresh: '1' } : {}) });
  const res = await ua.get(`${origin}${s.site.path}/begin?${query}`);
  expect(res.status).toBe(302);
  return new URL(res.location!);
}

/** Follows the authorization request until the provider sends the browser back, or shows a page. */
function atProvider(ua: UserAgent, s: TestSite, authorization: URL): Promise<PageResponse> {
  return ua.follow(
    {
      status: 302,
      url: origin,
      location: authorization.href,
      body: '',
      headers: new Headers(),
    },
    s.redirectUri,
  );
}

/** Where the provider sent the browser back, as the address of the site's callback. */
function wayBack(s: TestSite, page: PageResponse): RoundTrip {
  if (!page.location?.startsWith(s.redirectUri))
    throw new Error(`not sent back to the site: ${page.status} ${page.url} ${page.body.slice(0, 300)}`);
  const back = new URL(page.location);
  const callback = new URL(`${origin}${s.site.path}/callback${back.search}`);
  return {
    callback,
    code: back.searchParams.get('code') ?? '',
    state: back.searchParams.get('state') ?? '',
  };
}

/**
 * A round trip of the site: with `login`, the person signs in with the password on the way;
 * without, the browser's SSO session answers at once.
 */
async function roundTrip(
  ua: UserAgent,
  s: TestSite,
  options: { login?: string; returnTo?: string; fresh?: boolean } = {},
): Promise<RoundTrip> {
  let page = await atProvider(ua, s, await begin(ua, s, options));
  if (options.login)
    page = await submit(ua, page, '/login', { login: options.login, password: PASSWORD }, s.redirectUri);
  return wayBack(s, page);
}

/** The browser brings the way back to the site's callback: what the site makes of it. */
async function finish(ua: UserAgent, at: URL): Promise<Outcome | null> {
  const res = await ua.get(at);
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { outcome: Outcome | null }).outcome;
}

/** The callback of `trip`'s site with `code` and `state` in place of its own. */
function forged(trip: RoundTrip, params: Record<string, string | undefined>): URL {
  const url = new URL(trip.callback);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  return url;
}

/** A person with a browser signed in at the provider (and the SSO session's uid). */
async function person(s: TestSite) {
  const ua = new UserAgent();
  const { phone, id } = await addCitizen(server, PASSWORD);
  const trip = await roundTrip(ua, s, { login: phone });
  return { ua, phone, id, trip, ssoUid: await ssoUidOf(id) };
}

async function ssoUidOf(accountId: string): Promise<string> {
  const rows = await server.database
    .db('session_meta')
    .where({ account_id: accountId })
    .select('session_uid');
  expect(rows).toHaveLength(1);
  return rows[0].session_uid as string;
}

const refusals = (s: TestSite) => s.logs.filter((l) => l.msg === 'first-party sign-in refused');
const reasonsOf = (s: TestSite) => refusals(s).map((l) => l.reason);

const SSO_COOKIE = 'uid.session';
const BROWSER_COOKIE = 'uid.browser';

describe('a first-party site opens a session only with a code it redeemed itself', () => {
  it('a round trip of this browser opens the session of the account that signed in, at its acr, and returns to its page', async () => {
    const s = await siteOf();
    const ua = new UserAgent();
    const { phone, id } = await addCitizen(server, PASSWORD);
    const authorization = await begin(ua, s, { returnTo: `${s.site.path}/page?tab=2` });
    // As any relying party: a code, PKCE S256, state and nonce, the ID token's auth_time and sid.
    const params = Object.fromEntries(authorization.searchParams);
    expect(`${authorization.origin}${authorization.pathname}`).toBe(`${server.issuer}/auth`);
    expect(params).toMatchObject({
      client_id: s.site.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: s.redirectUri,
      code_challenge_method: 'S256',
    });
    expect(params['code_challenge']).toMatch(/^[\w-]{43}$/);
    expect(params['state']).toMatch(/^[\w-]{43}$/);
    expect(params['nonce']).toMatch(/^[\w-]{43}$/);
    expect(params['prompt']).toBeUndefined();
    expect(JSON.parse(params['claims']!)).toEqual({
      id_token: { auth_time: { essential: true }, sid: null },
    });

    const page = await submit(
      ua,
      await atProvider(ua, s, authorization),
      '/login',
      { login: phone, password: PASSWORD },
      s.redirectUri,
    );
    const trip = wayBack(s, page);
    const code = await server.host.provider.AuthorizationCode.find(trip.code);
    const grantId = code!.grantId!;

    const outcome = await finish(ua, trip.callback);
    const session: FirstPartySession = { accountId: id, sessionUid: await ssoUidOf(id), acr: ACR.basic };
    expect(outcome).toEqual({ session, returnTo: `${s.site.path}/page?tab=2` });
    expect(s.logs).toEqual([]);
    // The code is used up, and the access token that came with the ID token is revoked at once.
    expect((await server.host.provider.AuthorizationCode.find(trip.code))?.isValid ?? false).toBe(false);
    const tokens = await server.database.db('oidc_models').where({ model: 'AccessToken', grant_id: grantId });
    expect(tokens).toEqual([]);
  });

  it('a confidential site redeems its code with its secret, read from the registration', async () => {
    const s = await siteOf({ confidential: true });
    const { ua, id, trip, ssoUid } = await person(s);
    expect(await finish(ua, trip.callback)).toEqual({
      session: { accountId: id, sessionUid: ssoUid, acr: ACR.basic },
      returnTo: `${s.site.path}/page`,
    });
  });

  it('the same way back twice opens nothing the second time: the round trip is used up', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    expect(await finish(ua, trip.callback)).not.toBeNull();
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['no_round_trip']);
    expect(refusals(s)[0]).toEqual({
      site: s.site.name,
      reason: 'no_round_trip',
      msg: 'first-party sign-in refused',
    });
  });

  it('a code under a forged state, or none, opens nothing and leaves the code unused', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    expect(await finish(ua, forged(trip, { state: randomBytes(32).toString('base64url') }))).toBeNull();
    expect(await finish(ua, forged(trip, { state: undefined }))).toBeNull();
    expect(await finish(ua, forged(trip, { state: '' }))).toBeNull();
    expect(reasonsOf(s)).toEqual(['no_round_trip', 'no_round_trip', 'no_round_trip']);
    expect((await server.host.provider.AuthorizationCode.find(trip.code))?.isValid).toBe(true);
  });

  it('a code under the state of another round trip of the same browser opens nothing (its verifier is not the code’s)', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    const second = await roundTrip(ua, s);
    expect(await finish(ua, forged(trip, { state: second.state }))).toBeNull();
    expect(reasonsOf(s)).toEqual(['not_redeemed']);
    expect(refusals(s)[0]!.err).toMatch(/invalid_grant/);
    // The second round trip is used up by it: its own code opens nothing now either.
    expect(await finish(ua, second.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['not_redeemed', 'no_round_trip']);
  });

  it('a way back carried to another browser opens nothing there, even with the SSO session’s cookies', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    const other = new UserAgent();
    other.cookies.push(...ua.cookies.filter((c) => !c.name.startsWith(BROWSER_COOKIE)));
    expect(await finish(other, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_browser']);
    // The round trip is used up: the browser it belongs to can not use it after that either.
    expect(await finish(ua, trip.callback)).toBeNull();
  });

  it('a round trip whose PKCE verifier or nonce is not the code’s opens nothing', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    await server.services.flowStates.put('account-login', trip.state, {
      ...flow,
      verifier: randomBytes(32).toString('base64url'),
    });
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(refusals(s)[0]).toMatchObject({
      reason: 'not_redeemed',
      err: expect.stringMatching(/invalid_grant/),
    });

    const next = await roundTrip(ua, s);
    const nextFlow = (await server.services.flowStates.get('account-login', next.state))!;
    await server.services.flowStates.put('account-login', next.state, {
      ...nextFlow,
      nonce: randomBytes(32).toString('base64url'),
    });
    expect(await finish(ua, next.callback)).toBeNull();
    expect(refusals(s)[1]).toMatchObject({ reason: 'not_redeemed', err: expect.stringMatching(/nonce/) });
  });

  it('a code already redeemed opens nothing under a round trip made to hold its verifier and nonce', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    expect(await finish(ua, trip.callback)).not.toBeNull();
    const next = await roundTrip(ua, s);
    await server.services.flowStates.put('account-login', next.state, flow);
    expect(await finish(ua, forged(next, { code: trip.code }))).toBeNull();
    expect(refusals(s)[0]).toMatchObject({
      reason: 'not_redeemed',
      err: expect.stringMatching(/invalid_grant/),
    });
  });

  it('a code of another site opens nothing, public or confidential, even under a round trip holding its verifier', async () => {
    const own = await siteOf();
    const other = await siteOf();
    const confidential = await siteOf({ confidential: true });
    const { ua, trip } = await person(other);
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    const mine = await roundTrip(ua, own);
    await server.services.flowStates.put('account-login', mine.state, flow);
    expect(await finish(ua, forged(mine, { code: trip.code }))).toBeNull();
    expect(refusals(own)[0]).toMatchObject({
      reason: 'not_redeemed',
      err: expect.stringMatching(/invalid_grant/),
    });

    const theirs = await roundTrip(ua, confidential);
    const theirFlow = (await server.services.flowStates.get('account-login', theirs.state))!;
    const again = await roundTrip(ua, own);
    await server.services.flowStates.put('account-login', again.state, theirFlow);
    expect(await finish(ua, forged(again, { code: theirs.code }))).toBeNull();
    expect(reasonsOf(own)).toEqual(['not_redeemed', 'not_redeemed']);
  });

  it('an error answer (the person cancelled, the provider refused) is told apart, and uses the round trip up', async () => {
    const s = await siteOf();
    const ua = new UserAgent();
    // No SSO session and prompt=none: the provider answers login_required to the callback.
    const authorization = await begin(ua, s);
    authorization.searchParams.set('prompt', 'none');
    const trip = wayBack(s, await atProvider(ua, s, authorization));
    expect(trip.callback.searchParams.get('error')).toBe('login_required');
    expect(await finish(ua, trip.callback)).toBe('cancelled');
    expect(await server.services.flowStates.get('account-login', trip.state)).toBeUndefined();
    expect(s.logs).toEqual([]);
  });
});

describe('a fresh sign-in is one the person made after the round trip began', () => {
  it('asks the provider for a login page even with an SSO session', async () => {
    const s = await siteOf();
    const { ua } = await person(s);
    const authorization = await begin(ua, s, { fresh: true });
    expect(authorization.searchParams.get('prompt')).toBe('login');
    const page = await atProvider(ua, s, authorization);
    expect(page.status).toBe(200);
    expect(page.body).toContain('action="/interaction/');
  });

  it('refuses a code answered from an older SSO session when the browser drops prompt=login', async () => {
    const s = await siteOf();
    const { ua } = await person(s);
    const authorization = await begin(ua, s, { fresh: true });
    authorization.searchParams.delete('prompt');
    const trip = wayBack(s, await atProvider(ua, s, authorization));
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    const authTime = (await server.host.provider.AuthorizationCode.find(trip.code))!.authTime!;
    // Begun a second after the sign-in it is answered from.
    await server.services.flowStates.put('account-login', trip.state, { ...flow, begunAt: authTime + 1 });
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['not_fresh']);
  });

  it('accepts a login made in the second the round trip began, and after it', async () => {
    const s = await siteOf();
    const { ua, phone, id } = await person(s);
    for (const lag of [0, 5]) {
      const trip = await roundTrip(ua, s, { fresh: true, login: phone });
      const flow = (await server.services.flowStates.get('account-login', trip.state))!;
      const authTime = (await server.host.provider.AuthorizationCode.find(trip.code))!.authTime!;
      await server.services.flowStates.put('account-login', trip.state, { ...flow, begunAt: authTime - lag });
      const outcome = await finish(ua, trip.callback);
      expect(outcome).toMatchObject({ session: { accountId: id } });
    }
  });

  it('a site that does not ask for a fresh sign-in takes the SSO session however old', async () => {
    const s = await siteOf();
    const { ua, id } = await person(s);
    const trip = await roundTrip(ua, s);
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    await server.services.flowStates.put('account-login', trip.state, {
      ...flow,
      begunAt: flow.begunAt + 3600,
    });
    expect(await finish(ua, trip.callback)).toMatchObject({ session: { accountId: id } });
  });

  it('records the round trip’s beginning in whole seconds of now', async () => {
    const s = await siteOf();
    const ua = new UserAgent();
    const before = Math.floor(Date.now() / 1000);
    const authorization = await begin(ua, s, { fresh: true });
    const flow = (await server.services.flowStates.get(
      'account-login',
      authorization.searchParams.get('state')!,
    ))!;
    expect(flow.begunAt).toBeGreaterThanOrEqual(before);
    expect(flow.begunAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(flow).toMatchObject({ returnTo: `${s.site.path}/page`, fresh: true });
  });
});

describe('the site’s acr', () => {
  it('a site demanding mfa opens nothing on a password sign-in; one demanding basic does', async () => {
    const strict = await siteOf({ minimumAcr: ACR.mfa });
    const { ua, trip } = await person(strict);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(strict)).toEqual(['acr_too_low']);

    const basic = await siteOf({ minimumAcr: ACR.basic });
    expect(await finish(ua, (await roundTrip(ua, basic)).callback)).toMatchObject({
      session: { acr: ACR.basic },
    });
  });
});

describe('the session follows the SSO session the code was issued to', () => {
  /** The browser's SSO session cookies replaced by `from`'s (or dropped). */
  function swapSso(ua: UserAgent, from?: UserAgent) {
    for (let i = ua.cookies.length - 1; i >= 0; i--)
      if (ua.cookies[i]!.name.startsWith(SSO_COOKIE)) ua.cookies.splice(i, 1);
    if (from) ua.cookies.push(...from.cookies.filter((c) => c.name.startsWith(SSO_COOKIE)));
  }

  it('opens nothing when the browser’s SSO session ended before the way back', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    swapSso(ua);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_sso_session']);
  });

  it('opens nothing when the browser is signed in as another account by then', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    const someoneElse = await person(s);
    swapSso(ua, someoneElse.ua);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_sso_session']);
  });

  it('opens nothing under another SSO session of the same account', async () => {
    const s = await siteOf();
    const first = new UserAgent();
    const { phone, id } = await addCitizen(server, PASSWORD);
    const trip = await roundTrip(first, s, { login: phone });
    const second = new UserAgent();
    await roundTrip(second, s, { login: phone });
    const uids = await server.database.db('session_meta').where({ account_id: id }).select('session_uid');
    expect(uids).toHaveLength(2);
    swapSso(first, second);
    expect(await finish(first, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_sso_session']);
  });
});

/**
 * The process's own endpoints with /token's answer changed: its ID token's claims (whose signature
 * the site does not check, the token coming from /token itself) or the answer's fields.
 */
function tokenAnswer(change: (answer: Record<string, unknown>, claims: Record<string, unknown>) => void) {
  return (real: OwnEndpoints): OwnEndpoints => ({
    ...real,
    fetchFor: (address) => async (url, options) => {
      const res = await real.fetchFor(address)(url, options);
      if (!url.endsWith('/token')) return res;
      const answer = (await res.json()) as Record<string, unknown>;
      const [header, payload, signature] = String(answer['id_token']).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
      change(answer, claims);
      if (answer['id_token'])
        answer['id_token'] = [
          header,
          Buffer.from(JSON.stringify(claims)).toString('base64url'),
          signature,
        ].join('.');
      return Response.json(answer, { status: res.status });
    },
  });
}

describe('what the ID token says, should /token ever answer otherwise', () => {
  it('opens nothing for an answer without an ID token', async () => {
    const s = await siteOf({ endpoints: tokenAnswer((answer) => delete answer['id_token']) });
    const { ua, trip } = await person(s);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(refusals(s)).toEqual([
      expect.objectContaining({ reason: 'not_redeemed', err: expect.stringContaining('id_token') }),
    ]);
  });

  it('opens a session at no acr for a token without one, on a site that demands none', async () => {
    const s = await siteOf({ endpoints: tokenAnswer((_, claims) => delete claims['acr']) });
    const { ua, id, trip } = await person(s);
    const outcome = await finish(ua, trip.callback);
    expect(outcome).toMatchObject({ session: { accountId: id } });
    expect((outcome as { session: FirstPartySession }).session.acr).toBe('');
  });

  it('opens nothing for a token naming another account than the SSO session, even with its sid', async () => {
    const other = await addCitizen(server, PASSWORD);
    const s = await siteOf({
      endpoints: tokenAnswer((_, claims) => {
        claims['sub'] = other.id;
      }),
    });
    const { ua, trip } = await person(s);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_sso_session']);
  });

  it('opens nothing for an SSO session without a uid, even one naming the account and the sid', async () => {
    const s = await siteOf({
      host: (real) =>
        ({
          provider: {
            Session: {
              get: async (ctx: Parameters<typeof real.provider.Session.get>[0]) => {
                const sso = await real.provider.Session.get(ctx);
                return { uid: undefined, accountId: sso.accountId, sidFor: (id: string) => sso.sidFor(id) };
              },
            },
          },
        }) as unknown as ProviderHost,
    });
    const { ua, trip } = await person(s);
    expect(await finish(ua, trip.callback)).toBeNull();
    expect(reasonsOf(s)).toEqual(['other_sso_session']);
  });
});

describe('what goes wrong on the way to /token', () => {
  it('opens nothing for a site whose client is not registered, and says so', async () => {
    const s = await siteOf({ clientId: `rp_${randomBytes(12).toString('base64url')}` });
    const ua = new UserAgent();
    const authorization = await begin(ua, s);
    const callback = new URL(`${origin}${s.site.path}/callback`);
    callback.search = new URLSearchParams({
      code: randomBytes(32).toString('base64url'),
      state: authorization.searchParams.get('state')!,
      iss: server.issuer,
    }).toString();
    expect(await finish(ua, callback)).toBeNull();
    expect(refusals(s)[0]).toEqual({
      site: s.site.name,
      reason: 'not_redeemed',
      err: `${s.site.name}: its client is not registered`,
      msg: 'first-party sign-in refused',
    });
  });

  it('a failed discovery is tried again at the next sign-in', async () => {
    let failures = 1;
    const s = await siteOf({
      endpoints: (real) => ({
        ...real,
        fetchFor: (address) => (url, options) => {
          if (url.endsWith('/.well-known/openid-configuration') && failures-- > 0) {
            // An error that is its own cause: the log line names a few, and the sign-in goes on.
            const err = new Error('provider unreachable');
            err.cause = err;
            return Promise.reject(err);
          }
          return real.fetchFor(address)(url, options);
        },
      }),
    });
    const { ua, trip } = await person(s);
    expect(await finish(ua, trip.callback)).toBeNull();
    // openid-client's error, and what it wraps (the cause), in the log line.
    expect(refusals(s)[0]).toMatchObject({
      reason: 'not_redeemed',
      err: 'something went wrong ← provider unreachable ← provider unreachable ← provider unreachable',
    });
    expect(await finish(ua, (await roundTrip(ua, s)).callback)).not.toBeNull();
  });

  it('a failed revocation of the unused access token is logged and does not stop the sign-in', async () => {
    const s = await siteOf({
      endpoints: (real) => ({
        ...real,
        fetchFor: (address) => (url, options) =>
          url.includes('revocation') || url.endsWith('/token/revoke')
            ? Promise.reject(new Error('revocation unreachable'))
            : real.fetchFor(address)(url, options),
      }),
    });
    const { ua, id, trip } = await person(s);
    expect(await finish(ua, trip.callback)).toMatchObject({ session: { accountId: id } });
    expect(s.logs).toEqual([
      {
        site: s.site.name,
        err: expect.stringContaining('revocation unreachable'),
        msg: 'first-party access token not revoked',
      },
    ]);
  });

  it('names the provider’s error code in the log', async () => {
    const s = await siteOf();
    const { ua, trip } = await person(s);
    await server.host.provider.AuthorizationCode.find(trip.code).then((c) => c!.consume());
    expect(await finish(ua, trip.callback)).toBeNull();
    // openid-client's error code, and the provider's (RFC 6749 5.2).
    expect(refusals(s)[0]!.err).toBe(
      'OAUTH_RESPONSE_BODY_ERROR: server responded with an error in the response body (invalid_grant)',
    );
  });
});

describe('under an https issuer', () => {
  const ISSUER = 'https://id.example';

  /** A provider at ISSUER that knows no code: discovery, and /token refusing every code. */
  function fakeProvider(tokenEndpoint: string) {
    const asked: string[] = [];
    const endpoints: OwnEndpoints = {
      fetchFor: () => async (url) => {
        asked.push(url);
        if (url === `${ISSUER}/.well-known/openid-configuration`)
          return Response.json({
            issuer: ISSUER,
            authorization_endpoint: `${ISSUER}/auth`,
            token_endpoint: tokenEndpoint,
            jwks_uri: `${ISSUER}/jwks`,
          });
        return Response.json({ error: 'invalid_grant' }, { status: 400 });
      },
      vouchedAddress: () => undefined,
      published: (metadata) => metadata,
    };
    return { asked, endpoints };
  }

  /** A round trip begun at the site, and a code brought back under its state. */
  async function codeBack(s: TestSite) {
    const ua = new UserAgent();
    const authorization = await begin(ua, s);
    expect(authorization.origin).toBe(ISSUER);
    const callback = new URL(`${origin}${s.site.path}/callback`);
    callback.search = new URLSearchParams({
      code: randomBytes(32).toString('base64url'),
      state: authorization.searchParams.get('state')!,
      iss: ISSUER,
    }).toString();
    return finish(ua, callback);
  }

  it('discovers the provider and redeems the code over https', async () => {
    const provider = fakeProvider(`${ISSUER}/token`);
    const s = await siteOf({ issuer: ISSUER, endpoints: () => provider.endpoints });
    expect(await codeBack(s)).toBeNull();
    expect(provider.asked).toEqual([`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/token`]);
    expect(refusals(s)[0]!.err).toBe(
      'OAUTH_RESPONSE_BODY_ERROR: server responded with an error in the response body (invalid_grant)',
    );
  });

  it('never sends the code and verifier to an http endpoint the metadata names', async () => {
    const provider = fakeProvider('http://id.example/token');
    const s = await siteOf({ issuer: ISSUER, endpoints: () => provider.endpoints });
    expect(await codeBack(s)).toBeNull();
    expect(provider.asked).toEqual([`${ISSUER}/.well-known/openid-configuration`]);
    expect(refusals(s)[0]).toMatchObject({ reason: 'not_redeemed', err: expect.stringContaining('HTTPS') });
  });
});
