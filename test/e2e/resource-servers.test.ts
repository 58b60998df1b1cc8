import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { authorize, type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const ORDERS_API = 'https://orders.example.gov.cn';
const PERMITS_API = 'https://permits.example.gov.cn';
const SHORT_LIVED_API = 'https://short.example.gov.cn';
const OPAQUE_API = 'https://opaque.example.gov.cn';
const PASSWORD = 'Api-Test#2024';

/**
 * A site's API as its developers would write it with jose: the provider's keys from /jwks
 * (fetched once and cached), the issuer, its own identifier as the audience, and the JWT
 * access token profile's `typ` (RFC 9068 §4). It never calls the provider per request.
 */
function resourceServer(server: TestServer, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  return {
    async accept(token: string, options: { currentDate?: Date } = {}): Promise<JWTPayload> {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: server.issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        ...options,
      });
      return payload;
    },
  };
}

/** The error code a refused token fails jose with. */
const refusal = (work: Promise<unknown>) =>
  work.then(
    () => 'accepted',
    (err: { code?: string }) => err.code,
  );

describe.each(databaseKinds())('APIs registered as resource servers get JWT access tokens (%s)', (kind) => {
  let server: TestServer;
  let site: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    const { resources } = server.services;
    await resources.add({
      identifier: ORDERS_API,
      scopes: ['orders:read', 'orders:write'],
      format: 'jwt',
      ttl: 600,
    });
    await resources.add({ identifier: PERMITS_API, scopes: ['permits:read'], format: 'jwt', ttl: 600 });
    await resources.add({ identifier: SHORT_LIVED_API, scopes: ['short:read'], format: 'jwt', ttl: 1 });
    await resources.add({ identifier: OPAQUE_API, scopes: ['opaque:read'], format: 'opaque', ttl: 300 });
    site = await registerRelyingParty(server);
  });
  afterAll(() => server?.close());

  it('a site with client credentials gets a signed JWT for the API, and issuing it writes nothing', async () => {
    const rowsBefore = await rowCount(server, 'oidc_models');
    const tokens = await oidc.clientCredentialsGrant(site.config, {
      scope: 'orders:read',
      resource: ORDERS_API,
    });
    expect(await rowCount(server, 'oidc_models')).toBe(rowsBefore);
    expect(tokens.expires_in).toBe(600);
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });

    const payload = await resourceServer(server, ORDERS_API).accept(tokens.access_token);
    expect(payload).toMatchObject({
      iss: server.issuer,
      aud: ORDERS_API,
      sub: site.clientId,
      client_id: site.clientId,
      scope: 'orders:read',
    });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(typeof payload.jti).toBe('string');
  });

  it('the API refuses a token issued for another API, and the other API refuses this one', async () => {
    const forPermits = await oidc.clientCredentialsGrant(site.config, {
      scope: 'permits:read',
      resource: PERMITS_API,
    });
    expect(await refusal(resourceServer(server, ORDERS_API).accept(forPermits.access_token))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    const forOrders = await oidc.clientCredentialsGrant(site.config, {
      scope: 'orders:read',
      resource: ORDERS_API,
    });
    expect(await refusal(resourceServer(server, PERMITS_API).accept(forOrders.access_token))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    // Scopes of one API are not granted on another's token.
    const mixed = await oidc.clientCredentialsGrant(site.config, {
      scope: 'orders:read permits:read',
      resource: PERMITS_API,
    });
    expect((await resourceServer(server, PERMITS_API).accept(mixed.access_token))['scope']).toBe(
      'permits:read',
    );
  });

  it('the API refuses the token once it has expired', async () => {
    const api = resourceServer(server, ORDERS_API);
    const tokens = await oidc.clientCredentialsGrant(site.config, {
      scope: 'orders:read',
      resource: ORDERS_API,
    });
    const { exp } = await api.accept(tokens.access_token);
    // A minute later by the API's clock: expired, with nothing slept.
    expect(
      await refusal(api.accept(tokens.access_token, { currentDate: new Date((exp! + 60) * 1000) })),
    ).toBe('ERR_JWT_EXPIRED');

    // An API registered with a one-second lifetime: its tokens say so, and are refused two seconds on.
    const short = resourceServer(server, SHORT_LIVED_API);
    const brief = await oidc.clientCredentialsGrant(site.config, {
      scope: 'short:read',
      resource: SHORT_LIVED_API,
    });
    expect(brief.expires_in).toBe(1);
    // Valid at its own issue time (a loaded machine may take longer than its one second to get here).
    const { iat, exp: briefExp } = decodeJwt(brief.access_token);
    expect(briefExp! - iat!).toBe(1);
    await short.accept(brief.access_token, { currentDate: new Date(iat! * 1000) });
    expect(
      await refusal(short.accept(brief.access_token, { currentDate: new Date((iat! + 2) * 1000) })),
    ).toBe('ERR_JWT_EXPIRED');
  });

  it('a citizen signing in at a site lets it call the API with a JWT for that citizen', async () => {
    const citizen = await addCitizen(server, PASSWORD);
    const ua = new UserAgent();
    const outcome = await authorize(ua, site, {
      login: { login: citizen.phone, password: PASSWORD },
      consent: 'allow',
      params: { scope: 'openid profile orders:read', resource: ORDERS_API },
    });
    expect(outcome.pagesSeen).toEqual(['login', 'consent']);
    expect(outcome.callbackUrl).toBeDefined();
    // RFC 8707 §2.2: the site names the API again when it redeems the code.
    const tokens = await oidc.authorizationCodeGrant(
      site.config,
      outcome.callbackUrl!,
      { pkceCodeVerifier: outcome.verifier, expectedState: outcome.state, idTokenExpected: true },
      { resource: ORDERS_API },
    );
    expect(tokens.claims()?.sub).toBe(citizen.id);
    const payload = await resourceServer(server, ORDERS_API).accept(tokens.access_token);
    expect(payload).toMatchObject({ sub: citizen.id, client_id: site.clientId, scope: 'orders:read' });
    expect(await refusal(resourceServer(server, PERMITS_API).accept(tokens.access_token))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );

    // With the SSO session and the grant, no page; without `resource`, a site keeps getting the opaque token for userinfo, as before.
    const again = await authorize(ua, site, {
      params: { scope: 'openid profile orders:read', resource: ORDERS_API },
    });
    expect(again.pagesSeen).toEqual([]);
    const userinfoTokens = await oidc.authorizationCodeGrant(site.config, again.callbackUrl!, {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
    });
    expect(userinfoTokens.access_token.split('.')).toHaveLength(1);
    const userinfo = await oidc.fetchUserInfo(site.config, userinfoTokens.access_token, citizen.id);
    expect(userinfo.sub).toBe(citizen.id);
  });

  it('an unregistered API, or one removed, is invalid_target', async () => {
    const unknown = await oidc
      .clientCredentialsGrant(site.config, { scope: 'x:read', resource: 'https://unknown.example.gov.cn' })
      .catch((err: { error?: string }) => err.error);
    expect(unknown).toBe('invalid_target');

    await server.services.resources.add({
      identifier: 'https://gone.example.gov.cn',
      scopes: ['gone:read'],
      format: 'jwt',
    });
    await oidc.clientCredentialsGrant(site.config, {
      scope: 'gone:read',
      resource: 'https://gone.example.gov.cn',
    });
    await server.services.resources.remove('https://gone.example.gov.cn');
    const removed = await oidc
      .clientCredentialsGrant(site.config, { scope: 'gone:read', resource: 'https://gone.example.gov.cn' })
      .catch((err: { error?: string }) => err.error);
    expect(removed).toBe('invalid_target');
  });

  it('an API registered for opaque tokens gets stored tokens that introspect with their audience', async () => {
    const tokens = await oidc.clientCredentialsGrant(site.config, {
      scope: 'opaque:read',
      resource: OPAQUE_API,
    });
    expect(tokens.access_token.split('.')).toHaveLength(1);
    const introspected = await oidc.tokenIntrospection(site.config, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, aud: OPAQUE_API, scope: 'opaque:read' });
    await oidc.tokenRevocation(site.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(site.config, tokens.access_token)).active).toBe(false);
  });

  it('operators register, list and remove APIs through the admin API, each change audited', async () => {
    const operator = await registerRelyingParty(server, {
      name: '运维自动化',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      adminRole: 'system',
    });
    const bearer = (await oidc.clientCredentialsGrant(operator.config, { scope: 'admin' })).access_token;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}/admin/api${path}`, {
        ...init,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      });
    const identifier = 'https://tax.example.gov.cn/api';
    const added = await api('/resources', {
      method: 'POST',
      body: JSON.stringify({
        identifier,
        scopes: ['tax:read'],
        format: 'jwt',
        ttl: 300,
        reason: '税务接口接入',
      }),
    });
    expect(added.status).toBe(201);
    const created = (await added.json()) as { client_id: string; client_secret: string };
    expect(created).toMatchObject({
      identifier,
      scopes: ['tax:read'],
      format: 'jwt',
      ttl: 300,
      client_id: expect.stringMatching(/^api_/),
      client_secret: expect.any(String),
    });
    expect(
      (await api('/resources', { method: 'POST', body: JSON.stringify({ identifier, reason: '重复' }) }))
        .status,
    ).toBe(400);
    const duplicate = await api('/resources', {
      method: 'POST',
      body: JSON.stringify({ identifier, scopes: ['tax:read'], format: 'jwt', reason: '重复登记' }),
    });
    expect(duplicate.status).toBe(409);
    // An API can not claim the OpenID Connect or admin scopes.
    const hijack = await api('/resources', {
      method: 'POST',
      body: JSON.stringify({
        identifier: 'https://x.example.gov.cn',
        scopes: ['admin'],
        format: 'jwt',
        reason: '测试',
      }),
    });
    expect(hijack.status).toBe(400);

    const listed = (await (await api('/resources')).json()) as { identifier: string }[];
    expect(listed.map((r) => r.identifier)).toContain(identifier);
    const path = `/resources/${encodeURIComponent(identifier)}`;
    expect((await api(path)).status).toBe(200);
    expect(JSON.stringify(await (await api(path)).json())).not.toContain(created.client_secret);
    expect((await api(`${path}/rotate-secret`, { method: 'POST', body: JSON.stringify({}) })).status).toBe(
      400,
    );
    const rotated = await api(`${path}/rotate-secret`, {
      method: 'POST',
      body: JSON.stringify({ reason: '密钥轮换' }),
    });
    expect(rotated.status).toBe(200);
    const fresh = (await rotated.json()) as { client_id: string; client_secret: string };
    expect(fresh.client_id).toBe(created.client_id);
    expect(fresh.client_secret).not.toBe(created.client_secret);
    expect((await api(path, { method: 'DELETE', body: JSON.stringify({}) })).status).toBe(400);
    expect((await api(path, { method: 'DELETE', body: JSON.stringify({ reason: '接口下线' }) })).status).toBe(
      204,
    );
    expect((await api(path)).status).toBe(404);

    const events = await server.services.audit.query({ limit: 50 });
    expect(events.find((e) => e.type === 'admin.resource_server_added')).toMatchObject({
      actor: `admin:${operator.clientId}`,
      detail: { identifier, reason: '税务接口接入' },
    });
    expect(events.find((e) => e.type === 'admin.resource_server_secret_rotated')?.detail).toMatchObject({
      identifier,
      clientId: created.client_id,
      reason: '密钥轮换',
    });
    expect(events.find((e) => e.type === 'admin.resource_server_removed')?.detail).toMatchObject({
      identifier,
      reason: '接口下线',
    });
  });
});
