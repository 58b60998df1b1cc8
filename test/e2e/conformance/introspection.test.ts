import * as jose from 'jose';
import * as oidc from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SessionRevoker } from '../../../src/oidc/session-revoker.js';
import { createLogger } from '../../../src/ops/logger.js';
import { resetClock, setClock } from '../../support/clock.js';
import {
  authorize,
  authRequest,
  Browser,
  basic,
  People,
  post,
  registerSite,
  revoke,
  type Site,
  signIn,
  startConformanceServer,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';

const ORDERS_API = 'https://orders.example.gov.cn';
const PERMITS_API = 'https://permits.example.gov.cn';
const OPAQUE_API = 'https://opaque.example.gov.cn';
const BRIEF_API = 'https://brief.example.gov.cn';

/**
 * Token introspection (RFC 7662) as registered APIs and sites use it, for opaque tokens and for
 * JWT access tokens (RFC 9068). The API is a client of its own: openid-client with the
 * credentials `resources add` printed, the way a resource server such as Apache mod_oauth2 is
 * configured. Each test names the clause it checks.
 */
describe.each(databaseKinds())('Token introspection by sites and APIs (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  /** A site that signs people in and uses client credentials. */
  let site: Site;
  /** Another site: it must learn nothing about the first one's tokens. */
  let other: Site;
  let orders: { client_id: string; client_secret: string };
  let permits: { client_id: string; client_secret: string };
  let opaque: { client_id: string; client_secret: string };
  let brief: { client_id: string; client_secret: string };

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    people = await People.create(server);
    const { resources } = server.services;
    orders = await resources.add({ identifier: ORDERS_API, scopes: ['orders:read'], format: 'jwt' });
    permits = await resources.add({ identifier: PERMITS_API, scopes: ['permits:read'], format: 'jwt' });
    opaque = await resources.add({ identifier: OPAQUE_API, scopes: ['opaque:read'], format: 'opaque' });
    brief = await resources.add({ identifier: BRIEF_API, scopes: ['brief:read'], format: 'jwt', ttl: 1 });
    const input = {
      firstParty: true,
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] as const,
    };
    site = await registerSite(server, { ...input, grantTypes: [...input.grantTypes] });
    other = await registerSite(server, { ...input, grantTypes: [...input.grantTypes] });
  });
  afterAll(() => server?.close());
  afterEach(resetClock);

  /** The API's side: openid-client configured with the API's own credentials (HTTP Basic). */
  const apiClient = (credentials: { client_id: string; client_secret: string }) =>
    oidc.discovery(
      new URL(server.issuer),
      credentials.client_id,
      { client_secret: credentials.client_secret },
      oidc.ClientSecretBasic(credentials.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
  const asApi = (credentials: { client_id: string; client_secret: string }) => ({
    clientId: credentials.client_id,
    clientSecret: credentials.client_secret,
    redirectUri: '',
    authMethod: 'client_secret_basic',
  });
  const clientCredentials = async (who: Site, form: Record<string, string>) => {
    const answer = await post(server, '/token', who, { grant_type: 'client_credentials', ...form });
    expect(answer.status, answer.text).toBe(200);
    return String(answer.json['access_token']);
  };
  const introspect = (who: Site, token: string) => post(server, '/token/introspection', who, { token });

  it('RFC 7662 §2.1: `resources add` gives the API a client id and secret, and the API introspects an opaque token whose audience it is', async () => {
    expect(opaque.client_id).toMatch(/^api_/);
    expect(opaque.client_secret.length).toBeGreaterThanOrEqual(40);
    // Only the sealed secret is kept: the listing shows the id, never the secret.
    const listed = await server.services.resources.show(OPAQUE_API);
    expect(listed.client_id).toBe(opaque.client_id);
    expect(JSON.stringify(listed)).not.toContain(opaque.client_secret);

    const token = await clientCredentials(site, { scope: 'opaque:read', resource: OPAQUE_API });
    const api = await apiClient(opaque);
    expect(await oidc.tokenIntrospection(api, token)).toMatchObject({
      active: true,
      aud: OPAQUE_API,
      client_id: site.clientId,
      scope: 'opaque:read',
      iss: server.issuer,
    });
  });

  it("RFC 7662 §2.2, §4: an API sees active:false for another API's token, a token with no audience, a revoked one and a made-up one", async () => {
    const api = await apiClient(opaque);
    // Another API's opaque-format token is told apart by its audience, not by who asks.
    const otherApi = await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API });
    expect(await oidc.tokenIntrospection(api, otherApi)).toEqual({ active: false });
    const { tokens } = await signIn(server, site, { person: people.next() });
    expect(await oidc.tokenIntrospection(api, tokens.access_token)).toEqual({ active: false });
    const token = await clientCredentials(site, { scope: 'opaque:read', resource: OPAQUE_API });
    expect((await oidc.tokenIntrospection(api, token)).active).toBe(true);
    expect((await revoke(server, site, token)).status).toBe(200);
    expect(await oidc.tokenIntrospection(api, token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(api, 'x'.repeat(43))).toEqual({ active: false });
  });

  it("RFC 7662 §4: a site still sees only its own tokens, not another site's that is meant for the same API", async () => {
    const mine = await clientCredentials(site, { scope: 'opaque:read', resource: OPAQUE_API });
    const theirs = await clientCredentials(other, { scope: 'opaque:read', resource: OPAQUE_API });
    expect((await introspect(site, mine)).json['active']).toBe(true);
    expect((await introspect(site, theirs)).json).toEqual({ active: false });
    const { tokens } = await signIn(server, other, { person: people.next() });
    expect((await introspect(site, tokens.access_token)).json).toEqual({ active: false });
  });

  it("RFC 7662 §2.1: an API's credentials are for introspection only: no token, no sign-in, no revocation of others' tokens", async () => {
    const api = asApi(orders);
    const token = await post(server, '/token', api, {
      grant_type: 'client_credentials',
      scope: 'orders:read',
    });
    // oidc-provider says invalid_request ("requested grant type is not allowed for this client").
    expect(token.status).toBe(400);
    expect(token.json['access_token']).toBeUndefined();
    expect(token.json['error']).toEqual(expect.any(String));
    const withResource = await post(server, '/token', api, {
      grant_type: 'client_credentials',
      scope: 'orders:read',
      resource: ORDERS_API,
    });
    expect(withResource.status).toBe(400);
    expect(withResource.json['access_token']).toBeUndefined();
    const signInAttempt = await new Browser().get(
      authRequest(server, { ...api, redirectUri: 'https://orders.example.gov.cn/cb' }).url,
    );
    expect(signInAttempt.status).toBe(400);
    // RFC 7009 §2.1: revocation is for the client the token was issued to.
    const theirs = await clientCredentials(site, { scope: 'opaque:read', resource: OPAQUE_API });
    expect((await revoke(server, asApi(opaque), theirs)).status).toBe(200);
    expect((await introspect(site, theirs)).json['active']).toBe(true);
  });

  it('RFC 7662 §2.1: a rotated secret replaces the old one at once; a wrong secret is 401 invalid_client', async () => {
    const { resources } = server.services;
    await resources.add({ identifier: 'https://rotating.example.gov.cn', scopes: ['r:read'], format: 'jwt' });
    const first = await resources.rotateSecret('https://rotating.example.gov.cn');
    const token = await clientCredentials(site, {
      scope: 'r:read',
      resource: 'https://rotating.example.gov.cn',
    });
    const second = await resources.rotateSecret('https://rotating.example.gov.cn');
    // The id stays, so an API's configuration changes in its secret only.
    expect(second.client_id).toBe(first.client_id);
    expect(second.client_secret).not.toBe(first.client_secret);
    const old = await introspect(asApi(first), token);
    expect(old.status).toBe(401);
    expect(old.json['error']).toBe('invalid_client');
    expect((await introspect(asApi(second), token)).json['active']).toBe(true);
    const wrong = await introspect(asApi({ client_id: second.client_id, client_secret: 'wrong' }), token);
    expect(wrong.status).toBe(401);
    // Removed with its API.
    await resources.remove('https://rotating.example.gov.cn');
    expect((await introspect(asApi(second), token)).status).toBe(401);
  });

  it('RFC 7662 §2.2, RFC 9068 §5: a JWT access token introspects (200, not unsupported_token_type) as active for its site and its API, with its claims', async () => {
    const jwt = await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API });
    expect(jose.decodeProtectedHeader(jwt).typ).toBe('at+jwt');
    const bySite = await introspect(site, jwt);
    expect(bySite.status).toBe(200);
    expect(bySite.headers.get('cache-control')).toContain('no-store');
    const claims = jose.decodeJwt(jwt);
    expect(bySite.json).toEqual({
      ...claims,
      active: true,
      token_type: 'Bearer',
    });
    expect(bySite.json).toMatchObject({ aud: ORDERS_API, client_id: site.clientId, scope: 'orders:read' });
    const api = await apiClient(orders);
    expect(await oidc.tokenIntrospection(api, jwt)).toMatchObject({ active: true, aud: ORDERS_API });
    // The hint does not change the answer.
    expect(
      (await post(server, '/token/introspection', site, { token: jwt, token_type_hint: 'access_token' }))
        .json['active'],
    ).toBe(true);
  });

  it('RFC 7662 §2.2: a JWT is active:false for another site, another API, when made up, or signed by someone else', async () => {
    const jwt = await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API });
    expect((await introspect(other, jwt)).json).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(await apiClient(permits), jwt)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(await apiClient(opaque), jwt)).toEqual({ active: false });

    // The same claims, signed with a key that is not the provider's.
    const { privateKey } = await jose.generateKeyPair('ES256');
    const forged = await new jose.SignJWT(jose.decodeJwt(jwt))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jose.decodeProtectedHeader(jwt).kid! })
      .sign(privateKey);
    const answer = await introspect(site, forged);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ active: false });
    // Not a JWS of ours at all.
    expect((await introspect(site, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).json).toEqual({ active: false });
  });

  it('RFC 7662 §2.2, RFC 9068 §2.2: an expired JWT is active:false', async () => {
    const jwt = await clientCredentials(site, { scope: 'brief:read', resource: BRIEF_API });
    const api = await apiClient(brief);
    const { iat, exp } = jose.decodeJwt(jwt);
    // Active at its issue time (a loaded machine may take longer than one second to get here)…
    setClock(iat! * 1000);
    expect((await oidc.tokenIntrospection(api, jwt)).active).toBe(true);
    // …and not a second past its expiry by the provider's clock, with nothing slept.
    setClock((exp! + 1) * 1000);
    expect(await oidc.tokenIntrospection(api, jwt)).toEqual({ active: false });
  });

  /** A sign-in at `who` whose code is redeemed for a JWT for the orders API (RFC 8707 §2.2). */
  const codeJwt = async (
    who: Site,
    options: { ua: Browser; person: ReturnType<People['next']>; scope: string },
  ) => {
    const request = authRequest(server, who, {
      scope: options.scope,
      resource: ORDERS_API,
      ...(options.scope.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    const outcome = await authorize(options.ua, request, { person: options.person });
    const answer = await post(server, '/token', who, {
      grant_type: 'authorization_code',
      code: outcome.callback?.searchParams.get('code') ?? '',
      redirect_uri: who.redirectUri,
      code_verifier: request.verifier,
      resource: ORDERS_API,
    });
    expect(answer.status, answer.text).toBe(200);
    return answer.json as { access_token: string; refresh_token?: string; id_token: string };
  };

  it("RFC 9068 §2.2.1: a JWT from a person's sign-in carries auth_time, acr and amr, from the code and after a refresh, and introspects with them", async () => {
    const before = Math.floor(Date.now() / 1000);
    const fromCode = await codeJwt(site, {
      ua: new Browser(),
      person: people.next(),
      scope: 'openid offline_access orders:read',
    });
    const refreshed = await post(server, '/token', site, {
      grant_type: 'refresh_token',
      refresh_token: fromCode.refresh_token!,
      resource: ORDERS_API,
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    const api = await apiClient(orders);
    for (const jwt of [fromCode.access_token, String(refreshed.json['access_token'])]) {
      const claims = jose.decodeJwt(jwt);
      expect(claims.aud).toBe(ORDERS_API);
      expect(claims['auth_time']).toBeGreaterThanOrEqual(before - 1);
      expect(claims['auth_time']).toBeLessThanOrEqual(claims.iat!);
      expect(claims['acr']).toBe('urn:unified-id:acr:basic');
      expect(claims['amr']).toEqual(['pwd']);
      expect(await oidc.tokenIntrospection(api, jwt)).toMatchObject({
        active: true,
        sub: claims.sub,
        auth_time: claims['auth_time'],
        acr: 'urn:unified-id:acr:basic',
        amr: ['pwd'],
      });
    }
    // A site's opaque token for userinfo says the same at introspection.
    const { tokens } = await signIn(server, site, { person: people.next() });
    expect((await introspect(site, tokens.access_token)).json).toMatchObject({
      active: true,
      acr: 'urn:unified-id:acr:basic',
      amr: ['pwd'],
    });
    // A client-credentials JWT stands for no person: none of the three.
    const machine = jose.decodeJwt(
      await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API }),
    );
    expect(machine).not.toHaveProperty('auth_time');
    expect(machine).not.toHaveProperty('acr');
  });

  it("RFC 7662 §2.2: a person's JWT is inactive once its grant is revoked (RFC 7009 §2.1: with its refresh token)", async () => {
    const tokens = await codeJwt(site, {
      ua: new Browser(),
      person: people.next(),
      scope: 'openid offline_access orders:read',
    });
    const api = await apiClient(orders);
    expect((await oidc.tokenIntrospection(api, tokens.access_token)).active).toBe(true);
    expect((await revoke(server, site, tokens.refresh_token!, 'refresh_token')).status).toBe(200);
    expect(await oidc.tokenIntrospection(api, tokens.access_token)).toEqual({ active: false });
    expect((await introspect(site, tokens.access_token)).json).toEqual({ active: false });
  });

  it("RFC 7662 §2.2: a person's JWT is inactive once the person logs out (RP-Initiated Logout 1.0 §2), unless its grant has offline_access", async () => {
    const person = people.next();
    const ua = new Browser();
    const online = await codeJwt(site, { ua, person, scope: 'openid orders:read' });
    const offline = await codeJwt(other, { ua, person, scope: 'openid offline_access orders:read' });
    const api = await apiClient(orders);
    expect((await oidc.tokenIntrospection(api, online.access_token)).active).toBe(true);
    expect((await oidc.tokenIntrospection(api, offline.access_token)).active).toBe(true);

    const url = new URL('/session/end', server.issuer);
    url.searchParams.set('id_token_hint', online.id_token);
    const page = await ua.get(url);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(xsrf).toBeDefined();
    const done = await ua.post(new URL('/session/end/confirm', server.issuer), {
      xsrf: xsrf!,
      logout: 'yes',
    });
    expect(done.status).toBeLessThan(400);

    expect(await oidc.tokenIntrospection(api, online.access_token)).toEqual({ active: false });
    expect((await oidc.tokenIntrospection(api, offline.access_token)).active).toBe(true);
  });

  it("RFC 7662 §2.2: a person's JWT is inactive once the account's sessions are ended (登录设备 退出, a password change), offline_access or not", async () => {
    const person = people.next();
    const ua = new Browser();
    const online = await codeJwt(site, { ua, person, scope: 'openid orders:read' });
    const offline = await codeJwt(other, { ua, person, scope: 'openid offline_access orders:read' });
    const api = await apiClient(orders);
    expect((await oidc.tokenIntrospection(api, offline.access_token)).active).toBe(true);
    const accountId = String(jose.decodeJwt(online.id_token).sub);
    // What the account space does for 退出 on a device and after a password change.
    const revoker = new SessionRevoker(server.services.models, undefined, createLogger('silent'));
    expect(await revoker.revokeSessions(accountId, () => true)).toBeGreaterThanOrEqual(1);
    expect(await oidc.tokenIntrospection(api, online.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(api, offline.access_token)).toEqual({ active: false });
  });

  it('RFC 7662 §2.2: a JWT is inactive once its site is disabled', async () => {
    const short = await registerSite(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      postLogoutRedirectUris: [],
    });
    const jwt = await clientCredentials(short, { scope: 'orders:read', resource: ORDERS_API });
    const api = await apiClient(orders);
    expect((await oidc.tokenIntrospection(api, jwt)).active).toBe(true);
    await server.services.clients.setDisabled(short.clientId, true);
    expect(await oidc.tokenIntrospection(api, jwt)).toEqual({ active: false });
  });

  it('RFC 6749 §5.2, RFC 8707 §2: client credentials asking for an API scope without naming the API is refused with invalid_scope', async () => {
    const answer = await post(server, '/token', site, {
      grant_type: 'client_credentials',
      scope: 'orders:read',
    });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json['error']).toBe('invalid_scope');
    expect(String(answer.json['error_description'])).toMatch(/resource/);
    // Named: granted, and the answer says which scope (RFC 6749 §5.1).
    const named = await post(server, '/token', site, {
      grant_type: 'client_credentials',
      scope: 'orders:read',
      resource: ORDERS_API,
    });
    expect(named.json['scope']).toBe('orders:read');
    // Narrowed to the named API's scopes: said in the answer.
    const mixed = await post(server, '/token', site, {
      grant_type: 'client_credentials',
      scope: 'orders:read permits:read',
      resource: PERMITS_API,
    });
    expect(mixed.status).toBe(200);
    expect(mixed.json['scope']).toBe('permits:read');
  });

  it('RFC 7662 §2.1, RFC 6749 §5.2: a public client at introspection is 401 invalid_client, even for its own token', async () => {
    const app = await registerSite(server, {
      applicationType: 'native',
      redirectUris: ['http://127.0.0.1/callback'],
      postLogoutRedirectUris: [],
      firstParty: true,
    });
    const { tokens } = await signIn(server, app, { person: people.next() });
    const answer = await introspect(app, tokens.access_token);
    expect(answer.status).toBe(401);
    expect(answer.json['error']).toBe('invalid_client');
    expect(answer.json['active']).toBeUndefined();
    // Its JWT neither.
    const jwt = await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API });
    expect((await introspect(app, jwt)).status).toBe(401);
  });

  it('RFC 8414 §2: discovery lists the introspection and revocation client authentication methods as accepted', async () => {
    const discovery = (await (
      await fetch(new URL('/.well-known/openid-configuration', server.issuer))
    ).json()) as Record<string, string[]>;
    expect(discovery['introspection_endpoint_auth_methods_supported']).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
    expect(discovery['revocation_endpoint_auth_methods_supported']).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ]);
    // Each secret method listed is taken at introspection by a site registered for it.
    const jwt = await clientCredentials(site, { scope: 'orders:read', resource: ORDERS_API });
    expect(
      (
        await post(
          server,
          '/token/introspection',
          site,
          { token: jwt },
          { authorization: basic(site.clientId, site.clientSecret!) },
        )
      ).json['active'],
    ).toBe(true);
    const postSite = await registerSite(server, {
      authMethod: 'client_secret_post',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      postLogoutRedirectUris: [],
    });
    const own = await clientCredentials(postSite, { scope: 'orders:read', resource: ORDERS_API });
    expect((await introspect(postSite, own)).json['active']).toBe(true);
  });
});
