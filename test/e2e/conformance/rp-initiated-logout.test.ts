import { describe, expect, it } from 'vitest';
import {
  authorize,
  authRequest,
  POST_LOGOUT_REDIRECT_URI,
  registerSite,
  signIn,
  useConformanceServer,
  userinfo,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import { hiddenField, type PageResponse, type UserAgent } from '../../support/user-agent.js';

/**
 * The OpenID Foundation's RP-Initiated Logout OP test plan
 * (oidcc-rp-initiated-logout-certification-test-plan): the site sends the browser to
 * /session/end, the person confirms 退出登录, the session ends and the browser returns.
 */
describe.each(databaseKinds())('OpenID Connect RP-Initiated Logout 1.0 (%s)', (kind) => {
  const ctx = useConformanceServer(kind);

  const endSession = (params: Record<string, string>) => {
    const url = new URL('/session/end', ctx.server.issuer);
    url.search = new URLSearchParams(params).toString();
    return url;
  };
  /** The person presses 退出登录 on the confirmation page; the answer after the provider's redirects. */
  const confirm = async (ua: UserAgent, page: PageResponse) => {
    expect(page.status).toBe(200);
    expect(page.body).toContain('退出登录');
    const done = await ua.post(new URL('/session/end/confirm', ctx.server.issuer), {
      xsrf: hiddenField(page.body, 'xsrf'),
      logout: 'yes',
    });
    return done.location?.startsWith(ctx.server.issuer) ? ua.follow(done) : done;
  };
  const signedOut = async (ua: UserAgent, accessToken: string) => {
    expect((await userinfo(ctx.server, accessToken)).status).toBe(401);
    const silent = await authorize(ua, authRequest(ctx.server, ctx.fp, { prompt: 'none' }));
    expect(silent.callback?.searchParams.get('error')).toBe('login_required');
  };

  it('§2, §3: with id_token_hint and a registered post_logout_redirect_uri the session ends and the browser returns with state (oidcc-rp-initiated-logout)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const page = await ua.get(
      endSession({
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
        state: 'logout-state-1',
      }),
    );
    const done = await confirm(ua, page);
    const back = new URL(done.location!);
    expect(back.origin + back.pathname).toBe(POST_LOGOUT_REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe('logout-state-1');
    await signedOut(ua, tokens.access_token);
  });

  it('§2: the logout endpoint accepts POST', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const posted = await ua.post(new URL('/session/end', ctx.server.issuer), {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state: 'posted',
    });
    expect(posted.status).toBe(303);
    const done = await confirm(ua, await ua.follow(posted));
    expect(new URL(done.location!).searchParams.get('state')).toBe('posted');
    await signedOut(ua, tokens.access_token);
  });

  it('§2: client_id may stand in for id_token_hint with a post_logout_redirect_uri (oidcc-rp-initiated-logout-no-id-token-hint)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const page = await ua.get(
      endSession({ client_id: ctx.fp.clientId, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI }),
    );
    const done = await confirm(ua, page);
    expect(done.location?.startsWith(POST_LOGOUT_REDIRECT_URI)).toBe(true);
    await signedOut(ua, tokens.access_token);
  });

  it('§3: without state the return carries none (oidcc-rp-initiated-logout-no-state)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const done = await confirm(
      ua,
      await ua.get(
        endSession({ id_token_hint: tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI }),
      ),
    );
    expect(done.location).toBe(POST_LOGOUT_REDIRECT_URI);
  });

  it('§2: without post_logout_redirect_uri the person ends on the provider’s own page (oidcc-rp-initiated-logout-no-post-logout-redirect-uri)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const done = await confirm(ua, await ua.get(endSession({ id_token_hint: tokens.id_token })));
    expect(done.status).toBe(200);
    expect(done.url.startsWith(ctx.server.issuer)).toBe(true);
    expect(done.body).toContain('已退出');
    await signedOut(ua, tokens.access_token);
  });

  it('§2: with no parameters at all the person is still asked, and signed out (oidcc-rp-initiated-logout-no-params)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const done = await confirm(ua, await ua.get(endSession({})));
    expect(done.status).toBe(200);
    await signedOut(ua, tokens.access_token);
  });

  it('§3: a post_logout_redirect_uri not registered for the site is refused on a page (oidcc-rp-initiated-logout-bad-post-logout-redirect-uri)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    for (const uri of [
      'https://evil.example.com/logged-out',
      `${POST_LOGOUT_REDIRECT_URI}?added=1`,
      `${POST_LOGOUT_REDIRECT_URI}/`,
    ]) {
      const res = await ua.get(endSession({ id_token_hint: tokens.id_token, post_logout_redirect_uri: uri }));
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    }
    // Nothing ended.
    expect((await userinfo(ctx.server, tokens.access_token)).status).toBe(200);
  });

  it('§2: without id_token_hint or client_id, post_logout_redirect_uri is not redirected to (oidcc-rp-initiated-logout-only-state)', async () => {
    const { ua } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const page = await ua.get(
      endSession({ post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'only-state' }),
    );
    // Refused outright, or the person logs out and stays at the provider: never sent to the URI.
    if (page.status === 400) {
      expect(page.location).toBeUndefined();
    } else {
      const done = await confirm(ua, page);
      expect(done.location ?? '').not.toContain(POST_LOGOUT_REDIRECT_URI);
      expect(done.url.startsWith(ctx.server.issuer)).toBe(true);
    }
  });

  it('§2: an id_token_hint with a broken signature is refused (oidcc-rp-initiated-logout-modified-id-token-hint)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const [header, payload, signature] = tokens.id_token.split('.');
    const flipped = `${signature!.slice(0, -2)}${signature!.slice(-2) === 'AA' ? 'BB' : 'AA'}`;
    const res = await ua.get(
      endSession({
        id_token_hint: `${header}.${payload}.${flipped}`,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
  });

  it('§2: an id_token_hint issued to another site than client_id is refused (oidcc-rp-initiated-logout-bad-id-token-hint)', async () => {
    const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const other = await registerSite(ctx.server, { firstParty: true });
    const res = await ua.get(
      endSession({
        id_token_hint: tokens.id_token,
        client_id: other.clientId,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
  });
});
