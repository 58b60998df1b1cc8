import { describe, expect, it } from 'vitest';
import {
  authorize,
  authRequest,
  Browser,
  formPostFields,
  redeem,
  signIn,
  useConformanceServer,
  verifySigned,
  walk,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';

/**
 * OIDC Core 3.1.2.1 `prompt=select_account`. A browser holds one session here, so choosing an
 * account is signing in with it: the login page is shown, as for prompt=login, and the person may
 * sign in as the same or another account.
 */
describe.each(databaseKinds())('OpenID Connect prompt=select_account (%s)', (kind) => {
  const ctx = useConformanceServer(kind);

  it('Discovery §3: prompt_values_supported names none, select_account, login and consent', async () => {
    const discovery = (await (
      await fetch(new URL('/.well-known/openid-configuration', ctx.server.issuer))
    ).json()) as Record<string, string[]>;
    expect([...(discovery['prompt_values_supported'] ?? [])].sort()).toEqual([
      'consent',
      'login',
      'none',
      'select_account',
    ]);
  });

  // prompt=login too: a sign-in as another account ends the old session and the sign-in goes on.
  it.each(['select_account', 'login'])(
    'OIDC Core 3.1.2.1: with an SSO session, prompt=%s shows the login page, and the person may choose another account',
    async (prompt) => {
      const first = ctx.people.next();
      const second = ctx.people.next();
      const { ua, tokens } = await signIn(ctx.server, ctx.fp, { person: first });
      const firstSub = (await verifySigned(ctx.server, tokens.id_token)).payload.sub;

      // Without the prompt, the session answers silently.
      const silent = await authorize(ua, authRequest(ctx.server, ctx.fp));
      expect(silent.pagesSeen).toEqual([]);
      expect(silent.callback?.searchParams.get('code')).toBeTruthy();

      const request = authRequest(ctx.server, ctx.fp, { prompt });
      const outcome = await authorize(ua, request, { person: second });
      expect(outcome.pagesSeen).toEqual(['login']);
      // Another account: oidc-provider first ends the old session with a page the browser submits
      // by itself (its script), then sends the browser on to the site.
      const { action, fields } = formPostFields(outcome.response);
      expect(new URL(action).pathname).toBe('/session/end/confirm');
      const posted = await ua.post(action, fields);
      const done = await walk(ua, posted, ctx.fp.redirectUri);
      expect(done.callback?.searchParams.get('code')).toBeTruthy();
      const answer = await redeem(ctx.server, ctx.fp, request, done.callback!);
      expect(answer.status, answer.text).toBe(200);
      const chosen = (await verifySigned(ctx.server, String(answer.json['id_token']))).payload;
      expect(chosen.sub).not.toBe(firstSub);
      expect(chosen['nonce']).toBe(request.nonce);
    },
  );

  it('OIDC Core 3.1.2.1: without a session, select_account is a sign-in', async () => {
    const request = authRequest(ctx.server, ctx.fp, { prompt: 'select_account' });
    const outcome = await authorize(new Browser(), request, { person: ctx.people.next() });
    expect(outcome.pagesSeen).toEqual(['login']);
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('OIDC Core 3.1.2.1, 3.1.2.6: none with select_account is an error returned to the site', async () => {
    const { ua } = await signIn(ctx.server, ctx.fp, { person: ctx.people.next() });
    const request = authRequest(ctx.server, ctx.fp, { prompt: 'none select_account' });
    const outcome = await authorize(ua, request);
    expect(outcome.pagesSeen).toEqual([]);
    expect(outcome.callback?.searchParams.get('error')).toBe('invalid_request');
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
  });
});
