import * as jose from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  REDIRECT_URI,
  randomPhone,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Zhang-San#2024';

describe.each(databaseKinds())('a government site signing citizens in (%s)', (kind) => {
  let server: TestServer;
  let phone: string;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    phone = (await addCitizen(server, PASSWORD)).phone;
  });
  afterAll(() => server?.close());

  it('finds the provider by discovery, with code + PKCE only and the acr values listed', async () => {
    const rp = await registerRelyingParty(server);
    const metadata = rp.config.serverMetadata();
    expect(metadata.issuer).toBe(server.issuer);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.acr_values_supported).toEqual([
      'urn:unified-id:acr:basic',
      'urn:unified-id:acr:mfa',
      'urn:unified-id:acr:cert',
    ]);
    expect(metadata.pushed_authorization_request_endpoint).toBeDefined();
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'RS256']),
    );
  });

  it('signs a citizen in with an ES256 ID token carrying level, type and acr', async () => {
    const rp = await registerRelyingParty(server);
    const { tokens, outcome } = await signIn(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
    });
    expect(outcome.pagesSeen).toEqual(['login', 'consent']);
    expect(outcome.callbackUrl?.searchParams.get('iss')).toBe(server.issuer);
    const header = jose.decodeProtectedHeader(tokens.id_token!);
    expect(header.alg).toBe('ES256');
    const claims = tokens.claims()!;
    expect(claims['certification_level']).toBe('L1');
    expect(claims['user_type']).toBe('natural_person');
    expect(claims.acr).toBe('urn:unified-id:acr:basic');
    expect(claims.amr).toEqual(['pwd']);

    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
    expect(userinfo['phone_number']).toBe(`+86${phone}`);
    expect(userinfo['phone_number_verified']).toBe(true);
  });

  it('signs RS256 ID tokens for a site registered for RS256', async () => {
    const rp = await registerRelyingParty(
      server,
      { idTokenSigningAlg: 'RS256' },
      { id_token_signed_response_alg: 'RS256' },
    );
    const { tokens } = await signIn(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    expect(jose.decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    const jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload } = await jose.jwtVerify(tokens.id_token!, jwks, {
      issuer: server.issuer,
      audience: rp.clientId,
    });
    expect(payload.sub).toBe(tokens.claims()!.sub);
  });

  it('shows the same generic message for a wrong password and an unknown account', async () => {
    const rp = await registerRelyingParty(server);
    for (const login of [
      { login: phone, password: 'wrong-password-1' },
      { login: randomPhone(), password: PASSWORD },
    ]) {
      const outcome = await authorize(new UserAgent(), rp, { login, consent: 'allow' });
      expect(outcome.callbackUrl).toBeUndefined();
      expect(outcome.response.status).toBe(401);
      expect(outcome.response.body).toContain('账号或密码错误');
    }
  });

  it('remembers consent per site, and SSO signs the person in at a second site with prompt=none', async () => {
    const ua = new UserAgent();
    const first = await registerRelyingParty(server);
    const second = await registerRelyingParty(server);
    await signIn(ua, first, { login: { login: phone, password: PASSWORD } });

    // The second site needs consent once (interactive), then prompt=none works silently.
    const once = await signIn(ua, second, {});
    expect(once.outcome.pagesSeen).toEqual(['consent']);
    const silent = await signIn(ua, second, { params: { prompt: 'none' } });
    expect(silent.outcome.pagesSeen).toEqual([]);
    expect(silent.tokens.claims()!.sub).toBe(once.tokens.claims()!.sub);

    // A new browser session at the first site: login again, but no consent page this time.
    const again = await signIn(new UserAgent(), first, { login: { login: phone, password: PASSWORD } });
    expect(again.outcome.pagesSeen).toEqual(['login']);
  });

  it('answers prompt=none without a session with login_required', async () => {
    const rp = await registerRelyingParty(server);
    const outcome = await authorize(new UserAgent(), rp, { params: { prompt: 'none' } });
    expect(outcome.callbackUrl?.searchParams.get('error')).toBe('login_required');
  });

  it('skips the consent page for a first-party site', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const { outcome } = await signIn(new UserAgent(), rp, { login: { login: phone, password: PASSWORD } });
    expect(outcome.pagesSeen).toEqual(['login']);
  });

  it('refuses scopes a site is not registered for, and releases only those it is', async () => {
    const rp = await registerRelyingParty(server, { scopes: ['openid'], firstParty: true });
    const refused = await authorize(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid phone identity' },
    });
    expect(refused.callbackUrl?.searchParams.get('error')).toBe('invalid_scope');
    const { tokens } = await signIn(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid' },
    });
    expect(tokens.claims()!['certification_level']).toBe('L1');
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo['phone_number']).toBeUndefined();
  });

  it('returns access_denied to the site when the person refuses consent', async () => {
    const rp = await registerRelyingParty(server);
    const outcome = await authorize(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
      consent: 'deny',
    });
    expect(outcome.callbackUrl?.searchParams.get('error')).toBe('access_denied');
  });

  it('rotates refresh tokens and revokes the grant when an old one is reused', async () => {
    const rp = await registerRelyingParty(server);
    const { tokens } = await signIn(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
      params: { scope: 'openid offline_access', prompt: 'consent' },
    });
    expect(tokens.refresh_token).toBeDefined();
    const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(rotated.refresh_token).toBeDefined();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);

    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Reuse revoked the whole grant: the rotated token is dead too.
    await expect(oidc.refreshTokenGrant(rp.config, rotated.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const introspected = await oidc.tokenIntrospection(rp.config, rotated.access_token);
    expect(introspected.active).toBe(false);
  });

  it('issues client-credentials tokens that introspect as active until revoked', async () => {
    const rp = await registerRelyingParty(server);
    const token = await oidc.clientCredentialsGrant(rp.config, {});
    expect(token.access_token).toBeTruthy();
    const active = await oidc.tokenIntrospection(rp.config, token.access_token);
    expect(active.active).toBe(true);
    expect(active.client_id).toBe(rp.clientId);

    await oidc.tokenRevocation(rp.config, token.access_token);
    const revoked = await oidc.tokenIntrospection(rp.config, token.access_token);
    expect(revoked.active).toBe(false);
  });

  it('does not let one site introspect the tokens of another', async () => {
    const a = await registerRelyingParty(server);
    const b = await registerRelyingParty(server);
    const token = await oidc.clientCredentialsGrant(a.config, {});
    const seenByB = await oidc.tokenIntrospection(b.config, token.access_token);
    expect(seenByB.active).toBe(false);
  });

  it('pairwise subjects differ between sites and are stable for one site', async () => {
    const ua = new UserAgent();
    const a = await registerRelyingParty(server, { subjectType: 'pairwise', firstParty: true });
    const b = await registerRelyingParty(server, {
      subjectType: 'pairwise',
      firstParty: true,
      redirectUris: ['https://other-city.example.gov.cn/callback'],
    });
    const subA = (await signIn(ua, a, { login: { login: phone, password: PASSWORD } })).tokens.claims()!.sub;
    const subA2 = (await signIn(ua, a, {})).tokens.claims()!.sub;
    const subB = (await signIn(ua, b, {})).tokens.claims()!.sub;
    expect(subA2).toBe(subA);
    expect(subB).not.toBe(subA);
  });

  it('refuses to register a pairwise site whose redirect URIs span several hosts', async () => {
    await expect(
      registerRelyingParty(server, {
        subjectType: 'pairwise',
        redirectUris: ['https://a.example.gov.cn/cb', 'https://b.example.gov.cn/cb'],
      }),
    ).rejects.toThrow(/one host/);
  });

  it('accepts pushed authorization requests', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const ua = new UserAgent();
    let res = await ua.follow(await ua.get(url), REDIRECT_URI);
    const { formAction, hiddenField } = await import('../support/user-agent.js');
    res = await ua.post(formAction(res.body, '/login', res.url), {
      _csrf: hiddenField(res.body, '_csrf'),
      login: phone,
      password: PASSWORD,
    });
    res = await ua.follow(res, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(res.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()!.sub).toBeTruthy();
  });

  it('delivers the code by form_post when asked, under a CSP that allows only its own script', async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const outcome = await authorize(new UserAgent(), rp, {
      login: { login: phone, password: PASSWORD },
      params: { response_mode: 'form_post' },
    });
    expect(outcome.response.status).toBe(200);
    expect(outcome.response.body).toContain(`action="${REDIRECT_URI}"`);
    expect(outcome.response.body).toContain('name="code"');
    const csp = outcome.response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-/);
    expect(csp).not.toContain('unsafe-inline');
  });
});
