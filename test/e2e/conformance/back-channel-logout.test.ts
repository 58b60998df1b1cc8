import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackchannelReceiver, startBackchannelReceiver } from '../../support/backchannel-receiver.js';
import {
  People,
  registerSite,
  signIn,
  startConformanceServer,
  verifySigned,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestServer } from '../../support/server.js';
import { hiddenField, type UserAgent } from '../../support/user-agent.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * The OpenID Foundation's Back-Channel Logout OP test plan
 * (oidcc-backchannel-rp-initiated-logout-certification-test-plan): when a session ends, every
 * site signed in with it is sent a logout token, server to server.
 */
describe.each(databaseKinds())('OpenID Connect Back-Channel Logout 1.0 (%s)', (kind) => {
  let server: TestServer;
  let people: People;
  let receiver: BackchannelReceiver;
  let failing: BackchannelReceiver;

  beforeAll(async () => {
    server = await startConformanceServer(kind);
    receiver = await startBackchannelReceiver();
    failing = await startBackchannelReceiver({ status: 500 });
    people = await People.create(server);
  });
  afterAll(async () => {
    await receiver?.close();
    await failing?.close();
    await server?.close();
  });

  const site = (input: Parameters<typeof registerSite>[1] = {}) =>
    registerSite(server, { firstParty: true, backchannelLogoutUri: receiver.url, ...input });

  /** RP-initiated logout of the browser's session, confirmed; resolves once the provider answered. */
  const logOut = async (ua: UserAgent, idToken: string) => {
    const url = new URL('/session/end', server.issuer);
    url.searchParams.set('id_token_hint', idToken);
    const page = await ua.get(url);
    await ua.post(new URL('/session/end/confirm', server.issuer), {
      xsrf: hiddenField(page.body, 'xsrf'),
      logout: 'yes',
    });
  };
  /** The logout tokens sent for `aud` since `from` (tokens of other tests' sites are ignored). */
  const tokensFor = async (aud: string, from: number, count = 1) => {
    const until = Date.now() + 5000;
    let mine: string[] = [];
    while (Date.now() < until) {
      mine = receiver.tokens.slice(from).filter((t) => jose.decodeJwt(t).aud === aud);
      if (mine.length >= count) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    return mine;
  };

  it('§2.4, §2.6: the logout token is signed, typed logout+jwt, and carries iss, aud, iat, exp, jti, sub, sid and the event, but no nonce', async () => {
    const a = await site();
    const from = receiver.tokens.length;
    const { ua, tokens } = await signIn(server, a, { person: people.next() });
    const idToken = jose.decodeJwt(tokens.id_token);
    await logOut(ua, tokens.id_token);
    const [token] = await tokensFor(a.clientId, from);
    expect(token).toBeDefined();
    const { payload, protectedHeader } = await verifySigned(server, token!, { audience: a.clientId });
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.iss).toBe(server.issuer);
    expect(payload.aud).toBe(a.clientId);
    expect(payload.iat).toEqual(expect.any(Number));
    expect(payload.exp).toBeGreaterThan(payload.iat!);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.sub).toBe(idToken.sub);
    expect(payload['sid']).toBe(idToken['sid']);
    expect(payload['events']).toEqual({ [EVENT]: {} });
    expect(payload).not.toHaveProperty('nonce');
  });

  it('§2.5: it is POSTed as application/x-www-form-urlencoded logout_token, without the browser’s cookies', async () => {
    const a = await site();
    const [fromRequest, fromToken] = [receiver.requests.length, receiver.tokens.length];
    const { ua, tokens } = await signIn(server, a, { person: people.next() });
    await logOut(ua, tokens.id_token);
    await tokensFor(a.clientId, fromToken);
    const request = receiver.requests
      .slice(fromRequest)
      .find((r) => jose.decodeJwt(new URLSearchParams(r.body).get('logout_token')!).aud === a.clientId);
    expect(request).toMatchObject({ method: 'POST', cookie: undefined });
    expect(request!.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect([...new URLSearchParams(request!.body).keys()]).toEqual(['logout_token']);
  });

  it('§2.4: every site of the session gets its own token, with its own aud, sid and jti', async () => {
    const a = await site();
    const b = await site();
    const from = receiver.tokens.length;
    const atA = await signIn(server, a, { person: people.next() });
    const atB = await signIn(server, b, { ua: atA.ua });
    await logOut(atA.ua, atA.tokens.id_token);
    const [forA] = await tokensFor(a.clientId, from);
    const [forB] = await tokensFor(b.clientId, from);
    const pa = jose.decodeJwt(forA!);
    const pb = jose.decodeJwt(forB!);
    expect(pa['sid']).toBe(jose.decodeJwt(atA.tokens.id_token)['sid']);
    expect(pb['sid']).toBe(jose.decodeJwt(atB.tokens.id_token)['sid']);
    expect(pa.jti).not.toBe(pb.jti);
  });

  it('§2.4, Registration §2: a site registered for RS256 gets an RS256 logout token', async () => {
    const rs = await site({ idTokenSigningAlg: 'RS256' });
    const from = receiver.tokens.length;
    const { ua, tokens } = await signIn(server, rs, { person: people.next() });
    await logOut(ua, tokens.id_token);
    const [token] = await tokensFor(rs.clientId, from);
    const { protectedHeader } = await verifySigned(server, token!, { audience: rs.clientId });
    expect(protectedHeader.alg).toBe('RS256');
  });

  it('§2.4: a pairwise site is told its own pairwise sub', async () => {
    const pairwise = await site({ subjectType: 'pairwise' });
    const from = receiver.tokens.length;
    const { ua, tokens } = await signIn(server, pairwise, { person: people.next() });
    await logOut(ua, tokens.id_token);
    const [token] = await tokensFor(pairwise.clientId, from);
    expect(jose.decodeJwt(token!).sub).toBe(jose.decodeJwt(tokens.id_token).sub);
  });

  it('§2.1, §3: the ID token of a site with backchannel_logout_session_required carries sid, and discovery says so', async () => {
    const a = await site();
    const { tokens } = await signIn(server, a, { person: people.next() });
    expect(jose.decodeJwt(tokens.id_token)['sid']).toEqual(expect.any(String));
    const metadata = (await (
      await fetch(new URL('/.well-known/openid-configuration', server.issuer))
    ).json()) as Record<string, unknown>;
    expect(metadata['backchannel_logout_supported']).toBe(true);
    expect(metadata['backchannel_logout_session_supported']).toBe(true);
  });

  it('§2.8: a site whose endpoint fails does not stop the logout, nor the other sites’ tokens', async () => {
    const broken = await registerSite(server, { firstParty: true, backchannelLogoutUri: failing.url });
    const a = await site();
    const from = receiver.tokens.length;
    const atBroken = await signIn(server, broken, { person: people.next() });
    await signIn(server, a, { ua: atBroken.ua });
    await logOut(atBroken.ua, atBroken.tokens.id_token);
    expect(await tokensFor(a.clientId, from)).toHaveLength(1);
    expect(failing.tokens.length).toBeGreaterThanOrEqual(1);
    const url = new URL('/me', server.issuer);
    const res = await fetch(url, { headers: { authorization: `Bearer ${atBroken.tokens.access_token}` } });
    expect(res.status).toBe(401);
  });
});
