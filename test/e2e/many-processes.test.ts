import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, messageOf, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  basicAuth,
  REDIRECT_URI,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Two-Nodes#2024';

/** Sends the browser's next request to the other process, as a load balancer may. */
const onOther = (url: string, from: TestServer, to: TestServer) => url.replace(from.url, to.url);

describe.each(databaseKinds())('two provider processes on one database (%s)', (kind) => {
  let a: TestServer;
  let b: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    a = await startTestServer({ kind });
    b = await startTestServer({ kind, sameDeploymentAs: a });
    rp = await registerRelyingParty(a, { firstParty: true });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('finishes on one process a login begun on the other, and keeps SSO across both', async () => {
    const { phone } = await addCitizen(a, PASSWORD);
    const ua = new UserAgent();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    // /auth on A; the login page and its POST on B; the resume on A again.
    const first = await ua.get(url.href.replace(a.issuer, a.url));
    const page: PageResponse = await ua.get(onOther(first.location!.replace(a.issuer, a.url), a, b));
    expect(page.body).toContain('手机号码/身份证号码');
    const posted = await submit(ua, page, '/login', { login: phone, password: PASSWORD }, REDIRECT_URI);
    expect(posted.location).toMatch(/^https:\/\/rp\.example\.gov\.cn\/callback\?code=/);
    const code = new URL(posted.location!);
    // Redeemed at B's token endpoint.
    const res = await fetch(`${b.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(rp),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: code.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
    });
    expect(res.status).toBe(200);

    // SSO: the session made through B serves a prompt=none at A.
    const silent = await authorize(ua, rp, { params: { prompt: 'none' } });
    expect(Object.fromEntries(silent.callbackUrl?.searchParams ?? [])).toHaveProperty('code');
  });

  it('shares login-failure counters: three failures on A make B ask for the captcha', async () => {
    const { phone } = await addCitizen(a, PASSWORD);
    for (let i = 0; i < 3; i++) {
      const outcome = await authorize(new UserAgent(), rp, {
        login: { login: phone, password: `Wrong#${i}pass` },
      });
      expect(messageOf(outcome.response)).toBe('账号或密码错误');
    }
    const ua = new UserAgent();
    const url = (
      await oidc.buildAuthorizationUrl(rp.config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      })
    ).href;
    const first = await ua.get(url);
    const onB = await ua.get(onOther(first.location!.replace(a.issuer, a.url), a, b));
    const needsCaptcha = await submit(ua, onB, '/login', { login: phone, password: PASSWORD });
    expect(needsCaptcha.body).toContain('name="captcha"');
    const ok = await submit(
      ua,
      needsCaptcha,
      '/login',
      { login: phone, password: PASSWORD, captcha: await solveCaptcha(ua, b, needsCaptcha) },
      REDIRECT_URI,
    );
    expect(ok.location).toMatch(/code=/);
  });

  it('keeps one unbroken audit chain when both processes record events at the same moment', async () => {
    const before = await rowCount(a, 'audit_events');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).services.audit.record({ type: 'login', outcome: 'failure', detail: { i } }),
      ),
    );
    const after = await rowCount(a, 'audit_events');
    expect(after - before).toBe(40);
    // Whichever process seals, the rows of both end up in one chain.
    await b.services.audit.sealer.sealAll();
    expect(await b.services.audit.verify()).toEqual({ ok: true, rows: after, pending: 0 });
  });
});
