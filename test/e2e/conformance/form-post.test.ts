import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import {
  authorize,
  authRequest,
  Browser,
  formPostFields,
  REDIRECT_URI,
  redeem,
  registerSite,
  signIn,
  useConformanceServer,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';

/**
 * The OpenID Foundation's Form Post OP test plan (oidcc-formpost-basic-certification-test-plan):
 * the Basic plan's flows with response_mode=form_post, where the answer reaches the site as a
 * form the browser posts instead of a redirect.
 */
describe.each(databaseKinds())('OAuth 2.0 Form Post Response Mode (%s)', (kind) => {
  const ctx = useConformanceServer(kind);

  it('Form Post §2: code, state and iss reach the redirect URI in a self-submitting POST form, never in a URL', async () => {
    const request = authRequest(ctx.server, ctx.fp, { response_mode: 'form_post' });
    const outcome = await authorize(new Browser(), request, { person: ctx.people.next() });
    expect(outcome.callback).toBeUndefined();
    const page = outcome.response;
    expect(page.status).toBe(200);
    expect(page.location).toBeUndefined();
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    // Form Post §5 (security): the answer is not cached, and its script is allowed by hash alone.
    expect(page.headers.get('cache-control')).toContain('no-store');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    const { action, fields } = formPostFields(page);
    expect(action).toBe(REDIRECT_URI);
    expect(fields['state']).toBe(request.state);
    expect(fields['iss']).toBe(ctx.server.issuer);
    expect(fields['code']).toBeTruthy();

    const tokens = await redeem(
      ctx.server,
      ctx.fp,
      request,
      new URL(`${REDIRECT_URI}?code=${fields['code']}`),
    );
    expect(tokens.status).toBe(200);
    expect(jose.decodeJwt(tokens.json['id_token'] as string)['nonce']).toBe(request.nonce);
  });

  it('Form Post §2, OIDC Core 3.1.2.6: a refusal is posted the same way (access_denied, with state and iss)', async () => {
    const site = await registerSite(ctx.server);
    const request = authRequest(ctx.server, site, { response_mode: 'form_post' });
    const outcome = await authorize(new Browser(), request, { person: ctx.people.next(), consent: 'deny' });
    const { action, fields } = formPostFields(outcome.response);
    expect(action).toBe(REDIRECT_URI);
    expect(fields).toMatchObject({ error: 'access_denied', state: request.state, iss: ctx.server.issuer });
    expect(fields['code']).toBeUndefined();
  });

  it('Form Post §2, OIDC Core 3.1.2.6: prompt=none without a session posts login_required', async () => {
    const request = authRequest(ctx.server, ctx.fp, { response_mode: 'form_post', prompt: 'none' });
    const outcome = await authorize(new Browser(), request);
    expect(formPostFields(outcome.response).fields).toMatchObject({
      error: 'login_required',
      state: request.state,
    });
  });

  it('Form Post §2 with an SSO session: the form comes straight back, without pages', async () => {
    const { ua } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const outcome = await authorize(ua, authRequest(ctx.server, ctx.fp, { response_mode: 'form_post' }));
    expect(outcome.pagesSeen).toEqual([]);
    expect(formPostFields(outcome.response).fields['code']).toBeTruthy();
  });

  it('Form Post §2, OIDC Core 3.1.2.1: a POSTed authorization request is answered by form_post too', async () => {
    const request = authRequest(ctx.server, ctx.fp, { response_mode: 'form_post' });
    const outcome = await authorize(new Browser(), request, { person: ctx.people.next(), method: 'POST' });
    expect(formPostFields(outcome.response).fields['state']).toBe(request.state);
  });

  it('Form Post §3: state is returned exactly, HTML-escaped in the form, never as markup', async () => {
    const state = `"><script>alert(1)</script>&'`;
    const request = authRequest(ctx.server, ctx.fp, { response_mode: 'form_post', state });
    const outcome = await authorize(new Browser(), request, { person: ctx.people.next() });
    expect(outcome.response.body).not.toContain('<script>alert(1)</script>');
    expect(formPostFields(outcome.response).fields['state']).toBe(state);
  });

  it('Form Post §2, RFC 6749 §3.1.2.4: an unregistered redirect URI gets an error page, never a form', async () => {
    const res = await new Browser().get(
      authRequest(ctx.server, ctx.fp, {
        response_mode: 'form_post',
        redirect_uri: 'https://evil.example.com/cb',
      }).url,
    );
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('method="post" action="https://evil.example.com');
    expect(res.body).not.toContain('name="code"');
  });

  it('OAuth 2.0 Multiple Response Types §2.1: an unknown response_mode gets no code', async () => {
    const res = await new Browser().get(
      authRequest(ctx.server, ctx.fp, { response_mode: 'web_message' }).url,
    );
    expect(res.body).not.toContain('name="code"');
    if (res.location)
      expect(['invalid_request', 'unsupported_response_mode']).toContain(
        new URL(res.location).searchParams.get('error'),
      );
    else expect(res.status).toBe(400);
  });
});
