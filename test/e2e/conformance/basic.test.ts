import * as jose from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { advanceClock, resetClock } from '../../support/clock.js';
import {
  authorize,
  authRequest,
  Browser,
  basic,
  challenge,
  People,
  post,
  REDIRECT_URI,
  redeem,
  registerSite,
  revoke,
  type Site,
  signIn,
  startConformanceServer,
  userinfo,
  verifySigned,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';

/**
 * The OpenID Foundation's Basic OP test plan (oidcc-basic-certification-test-plan: code flow,
 * client_secret_basic, static registration), as a relying party sees the provider over HTTP.
 * Each test names the clause it checks and, in parentheses, the suite's module when there is one.
 */
describe.each(databaseKinds())('OpenID Connect Basic OP (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  /** A site with a consent page (not first-party). */
  let site: Site;
  /** A first-party site: no consent page, for tests about something else. */
  let fp: Site;

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    people = await People.create(server);
    site = await registerSite(server);
    fp = await registerSite(server, { firstParty: true });
  });
  afterAll(() => server?.close());

  afterEach(resetClock);

  it('OIDC Core 3.1.2.1, 3.1.2.5, RFC 9207 §2: a GET request returns the code with state and iss (oidcc-server)', async () => {
    const request = authRequest(server, site, { scope: 'openid profile' });
    const outcome = await authorize(new Browser(), request, { person: people.next() });
    expect(outcome.pagesSeen).toEqual(['login', 'consent']);
    expect(outcome.callback!.origin + outcome.callback!.pathname).toBe(REDIRECT_URI);
    expect(outcome.callback!.searchParams.get('code')).toBeTruthy();
    expect(outcome.callback!.searchParams.get('state')).toBe(request.state);
    expect(outcome.callback!.searchParams.get('iss')).toBe(server.issuer);

    // OIDC Core 3.1.3.3: the token response is JSON, never cached.
    const answer = await redeem(server, site, request, outcome.callback!);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toContain('no-store');
    expect(answer.json['token_type']).toMatch(/^bearer$/i);
    expect(answer.json['expires_in']).toBeGreaterThan(0);
    expect(answer.json['access_token']).toEqual(expect.any(String));
    expect(answer.json['id_token']).toEqual(expect.any(String));
  });

  it('OIDC Core 3.1.2.1: the authorization endpoint accepts POST (oidcc-ensure-post-request-succeeds)', async () => {
    const request = authRequest(server, fp);
    const ua = new Browser();
    const posted = await ua.post(new URL('/auth', server.issuer), request.params);
    // Answered with a GET of the same request: see README, "POST at /auth and /session/end".
    expect(posted.status).toBe(303);
    expect(new URL(posted.location!).pathname).toBe('/auth');
    const outcome = await authorize(ua, request, { person: people.next(), method: 'POST' });
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
  });

  it('OIDC Core 3.1.2.1: a cross-site POST, which carries no SameSite=Lax cookie, still finds the SSO session', async () => {
    const { ua } = await signIn(server, fp, { person: people.next() });
    const request = authRequest(server, fp, { prompt: 'none' });
    // The browser sends no cookie with another site's form POST (SameSite=Lax) …
    const res = await fetch(new URL('/auth', server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(request.params),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    // … but with the top-level GET it is redirected to, which is where the provider reads it.
    const outcome = await authorize(ua, {
      ...request,
      url: new URL(res.headers.get('location')!, server.issuer),
    });
    expect(outcome.pagesSeen).toEqual([]);
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('OIDC Core 3.1.2.1: redirect_uri is required; without it an error page is shown and nothing is redirected', async () => {
    const request = authRequest(server, fp, { redirect_uri: undefined });
    const res = await new Browser().get(request.url);
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('invalid_request');
  });

  it('OIDC Core 3.1.3.1, RFC 6749 §4.1.3: the code exchange requires the redirect_uri the code was issued for', async () => {
    const two = await registerSite(server, {
      firstParty: true,
      redirectUris: [REDIRECT_URI, 'https://rp.example.gov.cn/other'],
    });
    const request = authRequest(server, two);
    const { callback } = await authorize(new Browser(), request, { person: people.next() });
    const code = callback!.searchParams.get('code')!;
    const exchange = (redirectUri?: string) =>
      post(server, '/token', two, {
        grant_type: 'authorization_code',
        code,
        code_verifier: request.verifier,
        ...(redirectUri ? { redirect_uri: redirectUri } : {}),
      });
    const omitted = await exchange();
    expect(omitted.status).toBe(400);
    expect(omitted.json['error']).toBe('invalid_request');
    const other = await exchange('https://rp.example.gov.cn/other');
    expect(other.status).toBe(400);
    expect(other.json['error']).toBe('invalid_grant');
  });

  describe('OIDC Core 3.1.2.1, RFC 6749 §3.1.2.3: the redirect URI matches a registered one exactly (oidcc-ensure-registered-redirect-uri)', () => {
    const variants: [string, string][] = [
      ['a trailing slash', `${REDIRECT_URI}/`],
      ['an added query', `${REDIRECT_URI}?x=1`],
      ['another case in the path', 'https://rp.example.gov.cn/Callback'],
      ['another case in the host', 'https://RP.example.gov.cn/callback'],
      ['a fragment', `${REDIRECT_URI}#top`],
      ['another port', 'https://rp.example.gov.cn:8443/callback'],
      ['the default port written out', 'https://rp.example.gov.cn:443/callback'],
      ['http instead of https', 'http://rp.example.gov.cn/callback'],
    ];
    for (const [what, uri] of variants) {
      it(`refuses ${what} with an error page, never a redirect`, async () => {
        const res = await new Browser().get(authRequest(server, fp, { redirect_uri: uri }).url);
        expect(res.status).toBe(400);
        expect(res.location).toBeUndefined();
        expect(res.body).not.toContain('code=');
      });
    }
  });

  it('OIDC Core 3.1.2.1: a registered redirect URI with a query keeps it and gets the code added (oidcc-redirect-uri-query-OK, -mismatch, -added)', async () => {
    const registered = 'https://rp.example.gov.cn/callback?site=city';
    const withQuery = await registerSite(server, { firstParty: true, redirectUris: [registered] });
    const request = authRequest(server, withQuery);
    const outcome = await authorize(new Browser(), request, { person: people.next() });
    expect(outcome.callback?.searchParams.get('site')).toBe('city');
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
    for (const uri of [
      'https://rp.example.gov.cn/callback?site=county',
      `${registered}&extra=1`,
      REDIRECT_URI,
    ]) {
      const res = await new Browser().get(authRequest(server, withQuery, { redirect_uri: uri }).url);
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    }
  });

  it('OIDC Core 3.1.2.2, RFC 6749 §4.1.2.1: a request without response_type gets no code (oidcc-response-type-missing)', async () => {
    const request = authRequest(server, fp, { response_type: undefined });
    const res = await new Browser().get(request.url);
    const location = res.location ? new URL(res.location) : undefined;
    // Refused at the redirect URI (error=invalid_request) or on a page; never a code.
    if (location) {
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('code')).toBeNull();
    } else {
      expect(res.status).toBe(400);
    }
  });

  it('OIDC Core 3.1.2.1: unknown parameters, login_hint, ui_locales, claims_locales and display are accepted (oidcc-ensure-request-with-unknown-parameter-succeeds, oidcc-login-hint, oidcc-ui-locales, oidcc-claims-locales, oidcc-display-page, oidcc-display-popup)', async () => {
    const person = people.next();
    for (const extra of [
      { unknown_parameter: 'ignored' },
      { login_hint: person.login, ui_locales: 'zh-CN', claims_locales: 'zh-CN' },
      { display: 'page' },
      { display: 'popup' },
    ]) {
      const outcome = await authorize(new Browser(), authRequest(server, fp, extra), {
        person: people.next(),
      });
      expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
    }
  });

  it('OIDC Core 2, 3.1.3.7: the ID token is ES256, verifies against /jwks and carries iss, sub, aud, exp, iat, auth_time (asked for by max_age), nonce, acr and amr', async () => {
    const before = Math.floor(Date.now() / 1000) - 1;
    const { tokens, request } = await signIn(server, fp, {
      person: people.next(),
      params: { max_age: '3600' },
    });
    const { payload, protectedHeader } = await verifySigned(server, tokens.id_token, {
      audience: fp.clientId,
    });
    expect(protectedHeader.alg).toBe('ES256');
    const jwks = (await (await fetch(new URL('/jwks', server.issuer))).json()) as { keys: jose.JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
    expect(payload.iss).toBe(server.issuer);
    expect(payload.aud).toBe(fp.clientId);
    expect(payload.sub).toEqual(expect.any(String));
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.exp).toBeGreaterThan(payload.iat!);
    expect(payload['auth_time']).toBeGreaterThanOrEqual(before);
    expect(payload['nonce']).toBe(request.nonce);
    expect(payload['acr']).toBe('urn:unified-id:acr:basic');
    expect(payload['amr']).toEqual(['pwd']);
  });

  it('OIDC Core 3.1.3.7, Registration §2: a site registered for RS256 gets RS256 ID tokens (oidcc-idtoken-rs256)', async () => {
    const rs256 = await registerSite(server, { firstParty: true, idTokenSigningAlg: 'RS256' });
    const { tokens } = await signIn(server, rs256, { person: people.next() });
    const { protectedHeader, payload } = await verifySigned(server, tokens.id_token, {
      audience: rs256.clientId,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.aud).toBe(rs256.clientId);
  });

  it('OIDC Core 3.1.2.1: nonce is optional in the code flow; without one the ID token has none (oidcc-ensure-request-without-nonce-succeeds-for-code-flow)', async () => {
    const { tokens } = await signIn(server, fp, { person: people.next(), params: { nonce: undefined } });
    expect(jose.decodeJwt(tokens.id_token)['nonce']).toBeUndefined();
  });

  it('OIDC Core 3.1.2.1 prompt=login: a signed-in person is asked to sign in again and auth_time moves (oidcc-prompt-login)', async () => {
    // auth_time is in the ID token when asked for (OIDC Core 2): here by an essential claim.
    const claims = JSON.stringify({ id_token: { auth_time: { essential: true } } });
    const person = people.next();
    const first = await signIn(server, fp, { person, params: { claims } });
    const firstAuth = jose.decodeJwt(first.tokens.id_token)['auth_time'] as number;
    expect(firstAuth).toEqual(expect.any(Number));
    // A second later: auth_time counts whole seconds.
    advanceClock(1100);
    const request = authRequest(server, fp, { prompt: 'login', claims });
    const outcome = await authorize(first.ua, request, { person });
    expect(outcome.pagesSeen).toEqual(['login']);
    const answer = await redeem(server, fp, request, outcome.callback!);
    expect(jose.decodeJwt(answer.json['id_token'] as string)['auth_time']).toBeGreaterThan(firstAuth);
  });

  it('OIDC Core 3.1.2.1, 3.1.2.6 prompt=none: login_required without a session, a code without pages with one (oidcc-prompt-none-not-logged-in, oidcc-prompt-none-logged-in)', async () => {
    const request = authRequest(server, fp, { prompt: 'none' });
    const refused = await authorize(new Browser(), request);
    expect(refused.callback?.searchParams.get('error')).toBe('login_required');
    expect(refused.callback?.searchParams.get('state')).toBe(request.state);
    expect(refused.callback?.searchParams.get('iss')).toBe(server.issuer);

    const { ua } = await signIn(server, fp, { person: people.next() });
    const silent = await authorize(ua, authRequest(server, fp, { prompt: 'none' }));
    expect(silent.pagesSeen).toEqual([]);
    expect(silent.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('OIDC Core 3.1.2.6 prompt=none: consent_required when the person never agreed to the site', async () => {
    const { ua } = await signIn(server, fp, { person: people.next() });
    const fresh = await registerSite(server);
    const outcome = await authorize(ua, authRequest(server, fresh, { prompt: 'none' }));
    expect(outcome.callback?.searchParams.get('error')).toBe('consent_required');
  });

  it('OIDC Core 3.1.2.1 max_age: an older sign-in is asked for again, a recent one is not; auth_time is returned (oidcc-max-age-1, oidcc-max-age-10000)', async () => {
    const person = people.next();
    const { ua } = await signIn(server, fp, { person });
    const recent = authRequest(server, fp, { max_age: '10000' });
    const kept = await authorize(ua, recent, { person });
    expect(kept.pagesSeen).toEqual([]);
    const keptTokens = await redeem(server, fp, recent, kept.callback!);
    expect(jose.decodeJwt(keptTokens.json['id_token'] as string)['auth_time']).toEqual(expect.any(Number));

    // Two seconds later, so the sign-in is older than max_age=1.
    advanceClock(2100);
    const old = authRequest(server, fp, { max_age: '1' });
    const again = await authorize(ua, old, { person });
    expect(again.pagesSeen).toEqual(['login']);
    const againTokens = await redeem(server, fp, old, again.callback!);
    const authTime = jose.decodeJwt(againTokens.json['id_token'] as string)['auth_time'] as number;
    expect(authTime).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);
  });

  it('OIDC Core 3.1.2.1 id_token_hint: prompt=none with the person’s ID token returns a code (oidcc-id-token-hint)', async () => {
    const { ua, tokens } = await signIn(server, fp, { person: people.next() });
    const outcome = await authorize(
      ua,
      authRequest(server, fp, { prompt: 'none', id_token_hint: tokens.id_token }),
    );
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('OIDC Core 5.5: a claim asked for with the claims parameter is returned (oidcc-claims-essential)', async () => {
    const claims = JSON.stringify({
      id_token: { phone_number: { essential: true } },
      userinfo: { phone_number: { essential: true } },
    });
    const person = people.next();
    const { tokens } = await signIn(server, fp, { person, params: { scope: 'openid phone', claims } });
    expect(jose.decodeJwt(tokens.id_token)['phone_number']).toBe(`+86${person.login}`);
    expect((await userinfo(server, tokens.access_token)).json['phone_number']).toBe(`+86${person.login}`);
  });

  it('OIDC Core 3.1.2.1, 5.5.1.1 acr_values: a request for basic succeeds and the ID token says which acr was met (oidcc-ensure-request-with-acr-values-succeeds)', async () => {
    const { tokens } = await signIn(server, fp, {
      person: people.next(),
      params: { acr_values: 'urn:unified-id:acr:basic urn:unified-id:acr:mfa' },
    });
    expect(jose.decodeJwt(tokens.id_token)['acr']).toBe('urn:unified-id:acr:basic');
    // An essential acr this password session does not reach leads to the 安全验证 step, never a
    // weaker token.
    const { ua } = await signIn(server, fp, { person: people.next() });
    const stepUp = await authorize(
      ua,
      authRequest(server, fp, {
        claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:unified-id:acr:mfa' } } }),
      }),
    );
    expect(stepUp.callback).toBeUndefined();
    expect(stepUp.response.body).toContain('安全验证');
  });

  it('OIDC Core 5.4, 5.3.2: scope profile and phone release their claims at userinfo, whose sub is the ID token’s (oidcc-scope-profile, oidcc-scope-phone, oidcc-ensure-other-scope-order-succeeds)', async () => {
    const person = people.next();
    const { tokens } = await signIn(server, fp, { person, params: { scope: 'phone profile openid' } });
    const answer = await userinfo(server, tokens.access_token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json['sub']).toBe(jose.decodeJwt(tokens.id_token).sub);
    expect(answer.json['phone_number']).toBe(`+86${person.login}`);
    expect(answer.json['phone_number_verified']).toBe(true);
    expect(answer.json).toHaveProperty('updated_at');
  });

  it('OIDC Core 5.3.1, RFC 6750 §2.1–2.2: userinfo by GET, by POST with the header and with the token in the body (oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body)', async () => {
    const { tokens } = await signIn(server, fp, { person: people.next() });
    const sub = jose.decodeJwt(tokens.id_token).sub;
    expect((await userinfo(server, tokens.access_token)).json['sub']).toBe(sub);
    expect((await userinfo(server, tokens.access_token, { method: 'POST' })).json['sub']).toBe(sub);
    const body = await fetch(new URL('/me', server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(body.status).toBe(200);
    expect(((await body.json()) as { sub: string }).sub).toBe(sub);
  });

  it('OIDC Core 5.3.3, RFC 6750 §3, §3.1: userinfo errors carry a Bearer WWW-Authenticate challenge', async () => {
    const none = await fetch(new URL('/me', server.issuer));
    expect(none.status).toBe(401);
    const noneChallenge = challenge(none.headers);
    expect(noneChallenge.scheme).toBe('Bearer');
    expect(noneChallenge.params['realm']).toBe(server.issuer);

    const bad = await userinfo(server, 'not-a-token');
    expect(bad.status).toBe(401);
    expect(challenge(bad.headers)).toMatchObject({ scheme: 'Bearer', params: { error: 'invalid_token' } });

    const { tokens } = await signIn(server, fp, { person: people.next() });
    await revoke(server, fp, tokens.access_token);
    const revoked = await userinfo(server, tokens.access_token);
    expect(revoked.status).toBe(401);
    expect(challenge(revoked.headers).params['error']).toBe('invalid_token');

    // RFC 6750 §2.3, RFC 9700 §4.3.2: never in the query string.
    const fresh = (await signIn(server, fp, { person: people.next() })).tokens.access_token;
    const inQuery = await fetch(new URL(`/me?access_token=${fresh}`, server.issuer));
    expect([400, 401]).toContain(inQuery.status);
    expect(((await inQuery.json()) as { error: string }).error).toMatch(/^invalid_(request|token)$/);
  });

  it('OIDC Core 3.1.2.6: a refused consent returns access_denied with state and iss', async () => {
    const request = authRequest(server, await registerSite(server));
    const outcome = await authorize(new Browser(), request, { person: people.next(), consent: 'deny' });
    expect(outcome.callback?.searchParams.get('error')).toBe('access_denied');
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
    expect(outcome.callback?.searchParams.get('iss')).toBe(server.issuer);
  });

  it('OIDC Core 3.1.3.2, RFC 6749 §4.1.2: a code is single use; a second redemption is refused and revokes what the first issued (oidcc-codereuse)', async () => {
    const request = authRequest(server, fp, { scope: 'openid offline_access', prompt: 'consent' });
    const { callback } = await authorize(new Browser(), request, { person: people.next() });
    const first = await redeem(server, fp, request, callback!);
    expect(first.status).toBe(200);
    const second = await redeem(server, fp, request, callback!);
    expect(second.status).toBe(400);
    expect(second.json['error']).toBe('invalid_grant');
    expect((await userinfo(server, first.json['access_token'] as string)).status).toBe(401);
    const refreshed = await post(server, '/token', fp, {
      grant_type: 'refresh_token',
      refresh_token: first.json['refresh_token'] as string,
    });
    expect(refreshed.json['error']).toBe('invalid_grant');
  });

  it('OIDC Core 12: a refresh returns a new access token and an ID token for the same person (oidcc-refresh-token)', async () => {
    const { tokens } = await signIn(server, fp, {
      person: people.next(),
      params: { scope: 'openid offline_access', prompt: 'consent' },
    });
    const answer = await post(server, '/token', fp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
    });
    expect(answer.status).toBe(200);
    expect(answer.json['access_token']).not.toBe(tokens.access_token);
    const before = jose.decodeJwt(tokens.id_token);
    const after = jose.decodeJwt(answer.json['id_token'] as string);
    expect(after.sub).toBe(before.sub);
    expect(after.aud).toBe(before.aud);
    expect(after.iss).toBe(before.iss);
    expect(after['auth_time']).toBe(before['auth_time']);
  });

  it('OIDC Core 9: a site registered for client_secret_post authenticates that way (oidcc-server-client-secret-post)', async () => {
    const postSite = await registerSite(server, { firstParty: true, authMethod: 'client_secret_post' });
    const { tokens } = await signIn(server, postSite, { person: people.next() });
    expect(tokens.id_token).toBeTruthy();
  });

  it('OIDC Core 9, RFC 6749 §5.2: a failed client authentication is 401 invalid_client, with a Basic challenge when Basic was used', async () => {
    const wrong = await post(
      server,
      '/token',
      fp,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(fp.clientId, 'wrong-secret'),
      },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json['error']).toBe('invalid_client');
    expect(challenge(wrong.headers).scheme).toBe('Basic');

    const unknown = await post(
      server,
      '/token',
      fp,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('no-such-site', 'secret'),
      },
    );
    expect(unknown.status).toBe(401);
    expect(unknown.json['error']).toBe('invalid_client');

    const none = await post(server, '/token', undefined, { grant_type: 'client_credentials' });
    expect(none.status).toBe(400);
    expect(none.json['error']).toBe('invalid_request');
  });

  it('OIDC Core 9, Registration §2: the registered token_endpoint_auth_method is the only one accepted', async () => {
    const postSite = await registerSite(server, { firstParty: true, authMethod: 'client_secret_post' });
    for (const [who, how] of [
      [fp, 'client_secret_post'],
      [postSite, 'client_secret_basic'],
    ] as const) {
      const request = authRequest(server, who);
      const { callback } = await authorize(new Browser(), request, { person: people.next() });
      const form = {
        grant_type: 'authorization_code',
        code: callback!.searchParams.get('code')!,
        redirect_uri: who.redirectUri,
        code_verifier: request.verifier,
      };
      const refused = await post(server, '/token', who, form, how);
      expect(refused.status).toBe(401);
      expect(refused.json['error']).toBe('invalid_client');
      if (how === 'client_secret_basic') expect(challenge(refused.headers).scheme).toBe('Basic');
      // The same holds at the other endpoints a site authenticates to.
      expect((await post(server, '/token/introspection', who, { token: 'x' }, how)).status).toBe(401);
      expect((await post(server, '/token/revocation', who, { token: 'x' }, how)).status).toBe(401);
      // The code was not spent by the refused attempt.
      expect((await post(server, '/token', who, form)).status).toBe(200);
    }
  });
});
