import * as jose from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackchannelReceiver, startBackchannelReceiver } from '../support/backchannel-receiver.js';
import { addCitizen } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { authorize, registerRelyingParty, signIn } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { hiddenField, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Li-Si#2024-pass';

describe.each(databaseKinds())('退出: one logout ends the session at every site (%s)', (kind) => {
  let server: TestServer;
  let receiver: BackchannelReceiver;
  let phone: string;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    receiver = await startBackchannelReceiver();
    phone = (await addCitizen(server, PASSWORD)).phone;
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.close();
  });

  const logoutRows = async (accountId: string) =>
    (
      await server.database.db('audit_events').where({ type: 'logout', account_id: accountId }).orderBy('id')
    ).map((r: { outcome: string; detail: unknown }) => ({
      outcome: r.outcome,
      detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail,
    }));

  it('confirms in Chinese, tells both sites by back-channel, and needs a new login afterwards', async () => {
    const ua = new UserAgent();
    const provincial = await registerRelyingParty(server, {
      backchannelLogoutUri: receiver.url,
      firstParty: true,
    });
    const city = await registerRelyingParty(server, { backchannelLogoutUri: receiver.url, firstParty: true });
    const atProvince = await signIn(ua, provincial, { login: { login: phone, password: PASSWORD } });
    const atCity = await signIn(ua, city, {});
    // oidc-provider gives each site its own sid for the same session.
    const sidBySite = new Map([
      [provincial.clientId, atProvince.tokens.claims()!['sid']],
      [city.clientId, atCity.tokens.claims()!['sid']],
    ]);

    const userinfo = (accessToken: string) =>
      fetch(provincial.config.serverMetadata().userinfo_endpoint!, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
    // Each userinfo call is answered from a fresh read of the session (tokens end with it).
    expect((await userinfo(atProvince.tokens.access_token)).status).toBe(200);
    expect((await userinfo(atCity.tokens.access_token)).status).toBe(200);

    const endSession = oidc.buildEndSessionUrl(provincial.config, {
      id_token_hint: atProvince.tokens.id_token!,
      post_logout_redirect_uri: 'https://rp.example.gov.cn/logged-out',
    });
    const confirm = await ua.get(endSession);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('退出登录');
    const done = await ua.post(`${server.issuer}/session/end/confirm`, {
      xsrf: hiddenField(confirm.body, 'xsrf'),
      logout: 'yes',
    });
    expect(done.location).toMatch(/^https:\/\/rp\.example\.gov\.cn\/logged-out/);
    // The logout is in the audit log by the time the browser is sent on.
    const accountId = atProvince.tokens.claims()!.sub;
    expect(await logoutRows(accountId)).toEqual([
      expect.objectContaining({
        outcome: 'success',
        detail: { clientId: provincial.clientId, scope: 'all_sites' },
      }),
    ]);

    const tokens = await receiver.waitFor(2);
    expect(tokens).toHaveLength(2);
    const jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const audiences = new Set<string>();
    for (const token of tokens) {
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, { issuer: server.issuer });
      expect(protectedHeader.typ).toBe('logout+jwt');
      expect(payload['events']).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);
      expect(payload['sid']).toBe(sidBySite.get(String(payload.aud)));
      audiences.add(String(payload.aud));
    }
    expect(audiences).toEqual(new Set([provincial.clientId, city.clientId]));

    expect((await userinfo(atProvince.tokens.access_token)).status).toBe(401);
    expect((await userinfo(atCity.tokens.access_token)).status).toBe(401);

    const silent = await authorize(ua, city, { params: { prompt: 'none' } });
    expect(silent.callbackUrl?.searchParams.get('error')).toBe('login_required');
  });

  it('keeps the person signed in when they choose 保持登录', async () => {
    const ua = new UserAgent();
    const rp = await registerRelyingParty(server, { firstParty: true });
    const { tokens } = await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
    const confirm = await ua.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }));
    await ua.post(`${server.issuer}/session/end/confirm`, { xsrf: hiddenField(confirm.body, 'xsrf') });
    expect((await logoutRows(tokens.claims()!.sub)).at(-1)).toMatchObject({
      detail: { clientId: rp.clientId, scope: 'this_site' },
    });
    const silent = await authorize(ua, rp, { params: { prompt: 'none' } });
    expect(silent.callbackUrl?.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a post-logout redirect the site did not register', async () => {
    const ua = new UserAgent();
    const rp = await registerRelyingParty(server, { firstParty: true });
    const { tokens } = await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
    const res = await ua.get(
      oidc.buildEndSessionUrl(rp.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'https://evil.example.com/phish',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('invalid_request');
  });
});
