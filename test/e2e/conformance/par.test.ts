import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthRequest,
  authorize,
  authRequest,
  Browser,
  basic,
  People,
  post,
  REDIRECT_URI,
  redeem,
  registerSite,
  type Site,
  startConformanceServer,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';

/**
 * Pushed Authorization Requests (RFC 9126) as the OpenID Foundation's suite checks them for an
 * OP (the par-* modules of its FAPI 2.0 and OIDC plans): the site pushes its request to /request
 * and sends the browser to /auth with only client_id and the request_uri it got back.
 */
describe.each(databaseKinds())('Pushed Authorization Requests, RFC 9126 (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  let fp: Site;
  let other: Site;

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    people = await People.create(server);
    fp = await registerSite(server, { firstParty: true });
    other = await registerSite(server, {
      firstParty: true,
      redirectUris: ['https://other.example.gov.cn/cb'],
    });
  });
  afterAll(() => server?.close());

  /** Pushes the request's parameters (client_id among them, RFC 9126 §2.1) and returns the answer. */
  const push = (site: Site, request: AuthRequest, extra: Record<string, string> = {}) =>
    post(server, '/request', site, { ...request.params, ...extra });
  const authUrl = (clientId: string, requestUri: string, extra: Record<string, string> = {}) => {
    const url = new URL('/auth', server.issuer);
    url.search = new URLSearchParams({ client_id: clientId, request_uri: requestUri, ...extra }).toString();
    return url;
  };
  /** The browser at /auth with a pushed request: the same walk as any authorization request. */
  const authorizePushed = (url: URL, redirectUri = REDIRECT_URI) =>
    authorize(new Browser(), { url, params: { redirect_uri: redirectUri } } as unknown as AuthRequest, {
      person: people.next(),
    });

  it('§2.1, §2.2, §4: a pushed request answers 201 with a request_uri; /auth with it signs the person in', async () => {
    const request = authRequest(server, fp);
    const pushed = await push(fp, request);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('cache-control')).toContain('no-store');
    expect(pushed.json['request_uri']).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(pushed.json['expires_in']).toBeGreaterThan(0);
    expect(pushed.json['expires_in']).toBeLessThanOrEqual(60);

    const outcome = await authorizePushed(authUrl(fp.clientId, pushed.json['request_uri'] as string));
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
    expect(outcome.callback?.searchParams.get('iss')).toBe(server.issuer);
    const tokens = await redeem(server, fp, request, outcome.callback!);
    expect(tokens.status).toBe(200);
  });

  it('§2.1: the site authenticates at /request; without credentials or with a wrong secret it is refused', async () => {
    const { params } = authRequest(server, fp);
    const anonymous = await post(server, '/request', undefined, params);
    expect(anonymous.status).toBeGreaterThanOrEqual(400);
    expect(anonymous.json['request_uri']).toBeUndefined();
    const wrong = await post(server, '/request', fp, params, { authorization: basic(fp.clientId, 'wrong') });
    expect(wrong.status).toBe(401);
    expect(wrong.json['error']).toBe('invalid_client');
  });

  it('§4: a request_uri used with another site’s client_id is refused on an error page, never redirected', async () => {
    const pushed = await push(fp, authRequest(server, fp));
    const requestUri = pushed.json['request_uri'] as string;
    const extras: Record<string, string>[] = [
      {},
      { redirect_uri: 'https://other.example.gov.cn/cb' },
      { redirect_uri: REDIRECT_URI },
    ];
    for (const extra of extras) {
      const res = await new Browser().get(authUrl(other.clientId, requestUri, extra));
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
      expect(res.body).toContain('invalid_request_uri');
    }
    // The request stays the pushing site's own: it still works there.
    const outcome = await authorizePushed(authUrl(fp.clientId, requestUri));
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('§4: a request_uri is used once; used again it gives no code (par-attempt-reuse-request_uri)', async () => {
    const pushed = await push(fp, authRequest(server, fp));
    const url = authUrl(fp.clientId, pushed.json['request_uri'] as string);
    const first = await authorizePushed(url);
    expect(first.callback?.searchParams.get('code')).toBeTruthy();
    const again = await authorizePushed(url);
    expect(again.callback?.searchParams.get('code') ?? null).toBeNull();
    if (again.callback) expect(again.callback.searchParams.get('error')).toBe('invalid_request_uri');
    else expect(again.response.status).toBe(400);
  });

  it('§4: an expired request_uri gives no code (par-attempt-to-use-expired-request_uri)', async () => {
    const pushed = await push(fp, authRequest(server, fp));
    const requestUri = pushed.json['request_uri'] as string;
    await server.database
      .db('oidc_models')
      .where({ model: 'PushedAuthorizationRequest', id: requestUri.split(':').at(-1) })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const outcome = await authorizePushed(authUrl(fp.clientId, requestUri));
    expect(outcome.callback?.searchParams.get('code') ?? null).toBeNull();
  });

  it('§4: only the pushed parameters count; others added at /auth are ignored', async () => {
    const request = authRequest(server, fp);
    const pushed = await push(fp, request);
    const outcome = await authorizePushed(
      authUrl(fp.clientId, pushed.json['request_uri'] as string, {
        state: 'added-later',
        scope: 'openid phone',
      }),
    );
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
    const tokens = await redeem(server, fp, request, outcome.callback!);
    expect(tokens.json['scope']).toBe('openid');
  });

  it('§2.1: a pushed request may not carry a request_uri (par-authorization-request-containing-request_uri)', async () => {
    const first = await push(fp, authRequest(server, fp));
    const nested = await push(fp, authRequest(server, fp), {
      request_uri: first.json['request_uri'] as string,
    });
    expect(nested.status).toBe(400);
    expect(['invalid_request', 'request_uri_not_supported']).toContain(nested.json['error']);
    expect(nested.json['request_uri']).toBeUndefined();
  });

  it('§2.1, RFC 7636 §4.4.1: PKCE is required at /request, and only S256 (par-ensure-pkce-required, par-plain-pkce-rejected)', async () => {
    const missing = await push(
      fp,
      authRequest(server, fp, { code_challenge: undefined, code_challenge_method: undefined }),
    );
    expect(missing.status).toBe(400);
    expect(missing.json['error']).toBe('invalid_request');
    const plain = await push(
      fp,
      authRequest(server, fp, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }),
    );
    expect(plain.status).toBe(400);
    expect(plain.json['error']).toBe('invalid_request');
  });

  it('§2.1, §2.3: a redirect_uri the site did not register is refused at /request', async () => {
    const refused = await push(fp, authRequest(server, fp, { redirect_uri: 'https://evil.example.com/cb' }));
    expect(refused.status).toBe(400);
    expect(refused.json['error']).toBe('invalid_request');
    expect(refused.json['request_uri']).toBeUndefined();
  });

  it('§2.1: a client_id in the pushed request must be the authenticated site’s', async () => {
    const request = authRequest(server, fp);
    const mismatched = await post(server, '/request', fp, { ...request.params, client_id: other.clientId });
    expect(mismatched.status).toBeGreaterThanOrEqual(400);
    expect(mismatched.json['request_uri']).toBeUndefined();
  });
});
