import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  authRequest,
  Browser,
  formPostFields,
  People,
  redeem,
  registerSite,
  type Site,
  signIn,
  startConformanceServer,
  verifySigned,
  walk,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';

/**
 * OIDC Core 3.1.2.1 `prompt=select_account`. A browser holds one session here, so choosing an
 * account is signing in with it: the login page is shown, as for prompt=login, and the person may
 * sign in as the same or another account.
 */
describe.each(databaseKinds())('OpenID Connect prompt=select_account (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  let fp: Site;

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    people = await People.create(server);
    fp = await registerSite(server, { firstParty: true });
  });
  afterAll(() => server?.close());

  it('Discovery §3: prompt_values_supported names none, select_account, login and consent', async () => {
    const discovery = (await (
      await fetch(new URL('/.well-known/openid-configuration', server.issuer))
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
      const first = people.next();
      const second = people.next();
      const { ua, tokens } = await signIn(server, fp, { person: first });
      const firstSub = (await verifySigned(server, tokens.id_token)).payload.sub;

      // Without the prompt, the session answers silently.
      const silent = await authorize(ua, authRequest(server, fp));
      expect(silent.pagesSeen).toEqual([]);
      expect(silent.callback?.searchParams.get('code')).toBeTruthy();

      const request = authRequest(server, fp, { prompt });
      const outcome = await authorize(ua, request, { person: second });
      expect(outcome.pagesSeen).toEqual(['login']);
      // Another account: oidc-provider first ends the old session with a page the browser submits
      // by itself (its script), then sends the browser on to the site.
      const { action, fields } = formPostFields(outcome.response);
      expect(new URL(action).pathname).toBe('/session/end/confirm');
      const posted = await ua.post(action, fields);
      const done = await walk(ua, posted, fp.redirectUri);
      expect(done.callback?.searchParams.get('code')).toBeTruthy();
      const answer = await redeem(server, fp, request, done.callback!);
      expect(answer.status, answer.text).toBe(200);
      const chosen = (await verifySigned(server, String(answer.json['id_token']))).payload;
      expect(chosen.sub).not.toBe(firstSub);
      expect(chosen['nonce']).toBe(request.nonce);
    },
  );

  it('OIDC Core 3.1.2.1: without a session, select_account is a sign-in', async () => {
    const request = authRequest(server, fp, { prompt: 'select_account' });
    const outcome = await authorize(new Browser(), request, { person: people.next() });
    expect(outcome.pagesSeen).toEqual(['login']);
    expect(outcome.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('OIDC Core 3.1.2.1, 3.1.2.6: none with select_account is an error returned to the site', async () => {
    const { ua } = await signIn(server, fp, { person: people.next() });
    const request = authRequest(server, fp, { prompt: 'none select_account' });
    const outcome = await authorize(ua, request);
    expect(outcome.pagesSeen).toEqual([]);
    expect(outcome.callback?.searchParams.get('error')).toBe('invalid_request');
    expect(outcome.callback?.searchParams.get('state')).toBe(request.state);
  });
});
