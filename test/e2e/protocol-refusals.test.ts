import * as jose from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  basicAuth,
  REDIRECT_URI,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Wang-Wu#2024';

describe.each(databaseKinds())('requests the provider must refuse (%s)', (kind) => {
  let server: TestServer;
  let second: TestServer;
  let phone: string;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    second = await startTestServer({ kind, sameDeploymentAs: server });
    phone = (await addCitizen(server, PASSWORD)).phone;
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  const authUrl = (params: Record<string, string>) => `${server.issuer}/auth?${new URLSearchParams(params)}`;

  it('shows an error page, never a redirect, for an unknown site', async () => {
    const res = await new UserAgent().get(
      authUrl({
        client_id: 'no-such-site',
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('未在统一身份认证平台登记');
  });

  it('refuses a redirect URI that differs by one character', async () => {
    const rp = await registerRelyingParty(server);
    const res = await new UserAgent().get(
      authUrl({
        client_id: rp.clientId,
        redirect_uri: `${REDIRECT_URI}/`,
        response_type: 'code',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('与登记的不一致');
  });

  it('requires PKCE with S256 from every site', async () => {
    const rp = await registerRelyingParty(server);
    const base = {
      client_id: rp.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid',
    };
    const missing = await new UserAgent().get(authUrl(base));
    expect(new URL(missing.location!).searchParams.get('error')).toBe('invalid_request');
    const plain = await new UserAgent().get(
      authUrl({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }),
    );
    expect(new URL(plain.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses response types other than code', async () => {
    const rp = await registerRelyingParty(server);
    const res = await new UserAgent().get(
      authUrl({
        client_id: rp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'token',
        scope: 'openid',
      }),
    );
    // Implicit responses would go in the fragment; the refusal does too, and no token is ever issued.
    expect(res.location).toMatch(
      /^https:\/\/rp\.example\.gov\.cn\/callback[?#].*error=unsupported_response_type/,
    );
    expect(res.location).not.toContain('access_token');
  });

  it('refuses a replayed code and revokes what the first redemption issued', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const outcome = await authorize(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    const first = await oidc.authorizationCodeGrant(rp.config, outcome.callbackUrl!, {
      pkceCodeVerifier: outcome.verifier,
      expectedState: outcome.state,
    });
    await expect(
      oidc.authorizationCodeGrant(rp.config, outcome.callbackUrl!, {
        pkceCodeVerifier: outcome.verifier,
        expectedState: outcome.state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(rp.config, first.access_token)).active).toBe(false);
  });

  it('refuses a code with the wrong PKCE verifier', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const outcome = await authorize(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    await expect(
      oidc.authorizationCodeGrant(rp.config, outcome.callbackUrl!, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: outcome.state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('of 20 parallel redemptions of one code on two processes, exactly one gets tokens', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const outcome = await authorize(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    const code = outcome.callbackUrl!.searchParams.get('code')!;
    const attempts = Array.from({ length: 20 }, (_, i) =>
      fetch(`${i % 2 ? second.url : server.url}/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuth(rp),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: outcome.verifier,
        }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> })),
    );
    const results = await Promise.all(attempts);
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.body['access_token']).toBeTruthy();
    for (const loser of results.filter((r) => r.status !== 200)) {
      expect(loser.status).toBe(400);
      expect(loser.body['error']).toBe('invalid_grant');
    }
  });

  it('answers malformed token requests with OAuth errors, never a 500', async () => {
    const rp = await registerRelyingParty(server);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(rp), ...headers },
        body,
      });
    const cases = [
      await post('grant_type=password&username=a&password=b', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      await post('grant_type=authorization_code', { 'content-type': 'application/x-www-form-urlencoded' }),
      await post('{not json', { 'content-type': 'application/json' }),
      await post('grant_type=client_credentials&grant_type=client_credentials', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      await post('%%%', { 'content-type': 'application/x-www-form-urlencoded' }),
      await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuth({ clientId: rp.clientId, clientSecret: 'wrong-secret' }),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      }),
    ];
    for (const res of cases) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const body = (await res.json()) as { error: string };
      expect(body.error).toMatch(
        /^(invalid_request|unsupported_grant_type|invalid_client|invalid_grant|unauthorized_client)$/,
      );
    }
  });

  it('refuses userinfo without a valid bearer token', async () => {
    for (const authorization of ['', 'Bearer nonsense', 'Basic abc']) {
      const res = await fetch(`${server.url}/me`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('rotates signing keys without breaking sites: both processes switch, old tokens still verify', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const before = await signIn(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    const oldKid = jose.decodeProtectedHeader(before.tokens.id_token!).kid;
    const jwksBefore = (await (await fetch(`${second.url}/jwks`)).json()) as { keys: { kid: string }[] };

    const keys = await server.services.keys.rotate();
    const nextEs256 = keys.find((k) => k.alg === 'ES256' && k.state === 'current')!;
    // The key that now signs was already published before the rotation.
    expect(jwksBefore.keys.map((k) => k.kid)).toContain(nextEs256.kid);

    await server.host.refresh();
    for (let i = 0; i < 50 && !(await second.host.refresh()); i++)
      await new Promise((r) => setTimeout(r, 100));

    const ua = new UserAgent();
    const afterOne = await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
    expect(jose.decodeProtectedHeader(afterOne.tokens.id_token!).kid).toBe(nextEs256.kid);
    const jwksAfter = (await (await fetch(`${second.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwksAfter.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, nextEs256.kid]));
    const remote = jose.createLocalJWKSet(jwksAfter as jose.JSONWebKeySet);
    await expect(jose.jwtVerify(before.tokens.id_token!, remote)).resolves.toBeTruthy();
  });
});
