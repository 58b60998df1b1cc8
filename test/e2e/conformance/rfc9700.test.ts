import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  authRequest,
  Browser,
  introspect,
  People,
  post,
  redeem,
  registerSite,
  revoke,
  type Site,
  signIn,
  startConformanceServer,
  type Tokens,
  userinfo,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';

/**
 * The OAuth 2.0 Security Best Current Practice (RFC 9700) as an OP must meet it, with the token
 * endpoints it leans on: revocation (RFC 7009), introspection (RFC 7662), native apps (RFC 8252).
 */
describe.each(databaseKinds())('OAuth 2.0 Security BCP, RFC 9700 (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  /** A first-party site that may also use client credentials. */
  let site: Site;
  /** Another such site: it must never see or touch the first one's tokens. */
  let other: Site;

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    people = await People.create(server);
    const grantTypes = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
    site = await registerSite(server, { firstParty: true, grantTypes: [...grantTypes] });
    other = await registerSite(server, { firstParty: true, grantTypes: [...grantTypes] });
  });
  afterAll(() => server?.close());

  const offline = { scope: 'openid offline_access', prompt: 'consent' };
  const refresh = (who: Site, refreshToken: string) =>
    post(server, '/token', who, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const machineToken = async (who: Site) =>
    (await post(server, '/token', who, { grant_type: 'client_credentials' })).json['access_token'] as string;

  describe('RFC 7009 §2.1, RFC 7662 §2.2: a user access token (scope without offline_access)', () => {
    for (const hint of [undefined, 'access_token']) {
      it(`RFC 7009 §2.1: once revoked it is dead at userinfo and in introspection (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, {
          person: people.next(),
          params: { scope: 'openid profile' },
        });
        expect((await userinfo(server, tokens.access_token)).status).toBe(200);
        expect((await revoke(server, site, tokens.access_token, hint)).status).toBe(200);
        expect((await userinfo(server, tokens.access_token)).status).toBe(401);
        expect((await introspect(server, site, tokens.access_token)).json).toEqual({ active: false });
      });
    }

    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      it(`RFC 7662 §2.2: while valid it introspects as active (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, {
          person: people.next(),
          params: { scope: 'openid profile' },
        });
        const answer = await introspect(server, site, tokens.access_token, hint);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('cache-control')).toContain('no-store');
        expect(answer.json).toMatchObject({
          active: true,
          client_id: site.clientId,
          token_type: 'Bearer',
          scope: 'openid profile',
          iss: server.issuer,
        });
        expect(answer.json['sub']).toEqual(expect.any(String));
        expect(answer.json['exp']).toBeGreaterThan(Date.now() / 1000);
      });
    }
  });

  describe('RFC 7009 §2.1, RFC 7662 §2.2: a refresh token', () => {
    for (const hint of [undefined, 'refresh_token', 'access_token']) {
      it(`RFC 7662 §2.2: the site’s own introspects as active (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, { person: people.next(), params: offline });
        const answer = await introspect(server, site, tokens.refresh_token!, hint);
        expect(answer.json).toMatchObject({ active: true, client_id: site.clientId });
        expect(answer.json['token_type']).toBeUndefined();
      });
    }

    for (const hint of [undefined, 'refresh_token']) {
      it(`RFC 7009 §2.1: once revoked it refreshes nothing, and the access tokens of its grant end too (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, { person: people.next(), params: offline });
        expect((await revoke(server, site, tokens.refresh_token!, hint)).status).toBe(200);
        expect((await refresh(site, tokens.refresh_token!)).json['error']).toBe('invalid_grant');
        expect((await userinfo(server, tokens.access_token)).status).toBe(401);
        expect((await introspect(server, site, tokens.refresh_token!)).json).toEqual({ active: false });
      });
    }
  });

  it('RFC 7009 §2.1: revoking an access token ends the refresh token of its grant too', async () => {
    const { tokens } = await signIn(server, site, { person: people.next(), params: offline });
    expect((await revoke(server, site, tokens.access_token)).status).toBe(200);
    expect((await refresh(site, tokens.refresh_token!)).json['error']).toBe('invalid_grant');
  });

  describe('RFC 7009 §2.1, RFC 7662 §2.1–2.2: another site’s tokens are neither seen nor touched', () => {
    let tokens: Tokens;
    let machine: string;
    beforeAll(async () => {
      tokens = (await signIn(server, site, { person: people.next(), params: offline })).tokens;
      machine = await machineToken(site);
    });

    it('RFC 7662 §2.1: introspected by another site, every kind of token is {"active": false}', async () => {
      for (const token of [tokens.access_token, tokens.refresh_token!, machine]) {
        for (const hint of [undefined, 'access_token', 'refresh_token']) {
          expect((await introspect(server, other, token, hint)).json).toEqual({ active: false });
        }
      }
    });

    it('RFC 7009 §2.1–2.2: revoked by another site, every kind is answered 200 like an unknown token and stays alive', async () => {
      for (const token of [tokens.access_token, tokens.refresh_token!, machine, 'no-such-token']) {
        for (const hint of [undefined, 'access_token', 'refresh_token']) {
          const answer = await revoke(server, other, token, hint);
          expect(answer.status).toBe(200);
          expect(answer.text).toBe('');
        }
      }
      for (const token of [tokens.access_token, tokens.refresh_token!, machine]) {
        expect((await introspect(server, site, token)).json['active']).toBe(true);
      }
      expect((await userinfo(server, tokens.access_token)).status).toBe(200);
    });
  });

  it('RFC 7009 §2.1, RFC 7662 §2.2: a client-credentials token introspects as active until its site revokes it', async () => {
    const token = await machineToken(site);
    const active = await introspect(server, site, token);
    expect(active.json).toMatchObject({ active: true, client_id: site.clientId, token_type: 'Bearer' });
    expect(active.json['sub']).toBeUndefined();
    expect((await revoke(server, site, token)).status).toBe(200);
    expect((await introspect(server, site, token)).json).toEqual({ active: false });
  });

  it('RFC 7009 §2.2, RFC 7662 §2.2: an unknown token is revoked with 200 and introspects as inactive', async () => {
    expect((await revoke(server, site, 'never-issued')).status).toBe(200);
    expect((await revoke(server, site, 'never-issued', 'unknown_hint')).status).toBe(200);
    expect((await introspect(server, site, 'never-issued')).json).toEqual({ active: false });
  });

  it('§2.3: a client-credentials token carries no scope that stands for a person', async () => {
    for (const scope of ['openid', 'profile', 'offline_access', 'openid phone']) {
      const answer = await post(server, '/token', site, { grant_type: 'client_credentials', scope });
      expect(answer.status).toBe(400);
      expect(answer.json['error']).toBe('invalid_scope');
    }
    expect((await post(server, '/token', site, { grant_type: 'client_credentials' })).status).toBe(200);
    const machine = await registerSite(server, {
      grantTypes: ['client_credentials'],
      scopes: ['admin'],
      adminRole: 'audit',
    });
    const admin = await post(server, '/token', machine, { grant_type: 'client_credentials', scope: 'admin' });
    expect(admin.status).toBe(200);
    expect(admin.json['scope']).toBe('admin');
  });

  it('§2.3: a site gets only the scopes it is registered for', async () => {
    const narrow = await registerSite(server, { firstParty: true, scopes: ['openid'] });
    const outcome = await authorize(new Browser(), authRequest(server, narrow, { scope: 'openid phone' }), {
      person: people.next(),
    });
    expect(outcome.callback?.searchParams.get('error')).toBe('invalid_scope');
  });

  it('§2.1.1, §4.8, RFC 7636 §4.4.1: PKCE S256 is required, and the code needs its verifier', async () => {
    for (const params of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' },
      { code_challenge_method: undefined },
    ]) {
      const outcome = await authorize(new Browser(), authRequest(server, site, params));
      expect(outcome.callback?.searchParams.get('error')).toBe('invalid_request');
    }
    const request = authRequest(server, site);
    const { callback } = await authorize(new Browser(), request, { person: people.next() });
    const code = callback!.searchParams.get('code')!;
    const exchange = (verifier?: string) =>
      post(server, '/token', site, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: site.redirectUri,
        ...(verifier ? { code_verifier: verifier } : {}),
      });
    expect((await exchange()).json['error']).toBe('invalid_grant');
    expect((await exchange('b'.repeat(43))).json['error']).toBe('invalid_grant');
  });

  it('§4.5, RFC 6749 §4.1.3: a code is bound to its site; another site can not redeem it', async () => {
    const request = authRequest(server, site);
    const { callback } = await authorize(new Browser(), request, { person: people.next() });
    const stolen = await redeem(
      server,
      other,
      { ...request, params: { ...request.params, redirect_uri: other.redirectUri } },
      callback!,
    );
    expect(stolen.status).toBe(400);
    expect(stolen.json['error']).toBe('invalid_grant');
  });

  it('§2.1.2, §2.4: no implicit grant and no resource-owner password grant', async () => {
    const implicit = await new Browser().get(authRequest(server, site, { response_type: 'token' }).url);
    expect(implicit.location ?? '').toContain('error=unsupported_response_type');
    expect(implicit.location ?? '').not.toContain('access_token');
    const person = people.next();
    const password = await post(server, '/token', site, {
      grant_type: 'password',
      username: person.login,
      password: person.password,
    });
    expect(password.status).toBe(400);
    expect(password.json['error']).toBe('unsupported_grant_type');
  });

  it('§2.2.2, §4.14.2: refresh tokens rotate, and reusing a rotated one revokes the whole grant', async () => {
    const { tokens } = await signIn(server, site, { person: people.next(), params: offline });
    const rotated = await refresh(site, tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    const next = rotated.json['refresh_token'] as string;
    expect(next).toBeTruthy();
    expect(next).not.toBe(tokens.refresh_token);

    const reused = await refresh(site, tokens.refresh_token!);
    expect(reused.json['error']).toBe('invalid_grant');
    // The grant is gone: the newest refresh token and every access token of it too.
    expect((await refresh(site, next)).json['error']).toBe('invalid_grant');
    expect((await userinfo(server, rotated.json['access_token'] as string)).status).toBe(401);
    expect((await introspect(server, site, next)).json).toEqual({ active: false });
  });

  it('§4.14.2: a refresh token is bound to its site; another site can not use it', async () => {
    const { tokens } = await signIn(server, site, { person: people.next(), params: offline });
    expect((await refresh(other, tokens.refresh_token!)).json['error']).toBe('invalid_grant');
    expect((await refresh(site, tokens.refresh_token!)).status).toBe(200);
  });

  it('§4.11.2: an unknown site or an unregistered redirect URI is never redirected to', async () => {
    for (const params of [{ client_id: 'no-such-site' }, { redirect_uri: 'https://evil.example.com/cb' }]) {
      const res = await new Browser().get(authRequest(server, site, params).url);
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    }
  });

  it('§4.16: the provider’s pages can not be framed', async () => {
    const ua = new Browser();
    const res = await ua.follow(await ua.get(authRequest(server, site).url));
    expect(res.body).toContain('action="/interaction/');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  describe('§2.1, RFC 8252: native apps (application_type native)', () => {
    let app: Site;
    beforeAll(async () => {
      app = await registerSite(server, {
        applicationType: 'native',
        firstParty: true,
        redirectUris: ['http://127.0.0.1/callback', 'com.example.gov.app:/oauth2redirect'],
      });
    });

    it('RFC 8252 §7.3, RFC 9700 §2.1: a loopback redirect takes the port the app picked at run time; the path still matches exactly', async () => {
      expect(app.authMethod).toBe('none');
      expect(app.clientSecret).toBeUndefined();
      const redirectUri = 'http://127.0.0.1:53124/callback';
      const request = authRequest(server, app, {
        redirect_uri: redirectUri,
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      const outcome = await authorize(new Browser(), request, { person: people.next() });
      expect(outcome.callback?.href.startsWith(`${redirectUri}?`)).toBe(true);
      // A public client: no secret, PKCE alone (RFC 8252 §8.1).
      const tokens = await redeem(server, app, request, outcome.callback!);
      expect(tokens.status).toBe(200);
      expect(tokens.json['refresh_token']).toBeTruthy();
      // The port may change between requests, nothing else may.
      for (const uri of [
        'http://127.0.0.1:53124/other',
        'http://localhost:53124/callback',
        'http://[::1]:53124/callback',
      ]) {
        const res = await new Browser().get(authRequest(server, app, { redirect_uri: uri }).url);
        expect(res.status, uri).toBe(400);
        expect(res.location, uri).toBeUndefined();
      }
    });

    it('RFC 8252 §7.1: a private-use scheme redirect receives the code', async () => {
      const request = authRequest(server, app, { redirect_uri: 'com.example.gov.app:/oauth2redirect' });
      const outcome = await authorize(new Browser(), request, { person: people.next() });
      expect(outcome.callback?.protocol).toBe('com.example.gov.app:');
      expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
      expect((await redeem(server, app, request, outcome.callback!)).status).toBe(200);
    });

    it('RFC 8252 §8.4: a native app is a public client: it is registered without a secret and can not introspect', async () => {
      await expect(
        registerSite(server, {
          applicationType: 'native',
          authMethod: 'client_secret_basic',
          redirectUris: ['http://127.0.0.1/cb'],
        }),
      ).rejects.toThrow(/public client/);
      const { tokens } = await signIn(server, app, {
        person: people.next(),
        params: { redirect_uri: 'http://127.0.0.1:40001/callback' },
      });
      // RFC 7662 §2.1: it has nothing to authenticate with at introspection.
      const answer = await introspect(server, app, tokens.access_token);
      expect(answer.status).toBe(401);
      expect(answer.json['error']).toBe('invalid_client');
    });

    it('RFC 8252 §7.1, §7.3, §8.3: registration refuses what a native app may not use, and a web site keeps exact matching', async () => {
      for (const uri of [
        'http://app.example.gov.cn/cb',
        'http://localhost/cb',
        'myapp:/cb',
        'https://127.0.0.1/cb',
        'javascript:alert(1)',
      ]) {
        await expect(
          registerSite(server, { applicationType: 'native', redirectUris: [uri] }),
          uri,
        ).rejects.toThrow();
      }
      await expect(registerSite(server, { redirectUris: ['com.example.gov.app:/cb'] })).rejects.toThrow(
        /native/,
      );
      const web = await registerSite(server, {
        firstParty: true,
        redirectUris: ['http://127.0.0.1/callback'],
      });
      const res = await new Browser().get(
        authRequest(server, web, { redirect_uri: 'http://127.0.0.1:53124/callback' }).url,
      );
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    });
  });
});
