import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, submit } from '../support/citizen.js';
import { addOperator, consoleSignIn } from '../support/operators.js';
import { authorize, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent, UserAgentAt } from '../support/user-agent.js';

const PASSWORD = 'Qian-Ming#2024';
const ACCOUNT_COOKIE = 'uid.account';
const CONSOLE_COOKIE = 'uid.console';

const hasCookie = (ua: UserAgent, name: string) => ua.cookies.some((c) => c.name === name);
const dropCookie = (ua: UserAgent, name: string) => {
  for (let i = ua.cookies.length - 1; i >= 0; i--)
    if (ua.cookies[i]!.name.startsWith(name)) ua.cookies.splice(i, 1);
};
const pathOf = (page: PageResponse) => new URL(page.location ?? page.url, 'http://x').pathname;

/** One sign-in round trip of a site of the provider, stopped where the browser brings the code back. */
interface RoundTrip {
  callback: URL;
  code: string;
  state: string;
}

/**
 * 用户空间 and 管理后台 are sites of the provider like any other: each opens its session only with
 * a code it redeemed itself at /token, in the browser that asked for it, with the state, nonce
 * and PKCE verifier of that round trip. These are the attacks on that.
 */
describe('the sign-in of 用户空间 and 管理后台 redeems its own code, or opens nothing', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  /** A browser signed in to 用户空间 by password: it holds an SSO session and the site's cookie. */
  async function signedIn(): Promise<{ ua: UserAgent; id: string }> {
    const ua = new UserAgent();
    const { phone, id } = await addCitizen(server, PASSWORD);
    const login = await ua.follow(await ua.get(`${server.url}/account`));
    const landed = await submit(ua, login, '/login', { login: phone, password: PASSWORD });
    expect(new URL(landed.url).pathname).toBe('/account');
    expect(hasCookie(ua, ACCOUNT_COOKIE)).toBe(true);
    return { ua, id };
  }

  /**
   * From a browser with an SSO session, a round trip of the site at `path`: the provider answers
   * with a code at once (prompt=login taken out of the address where the site put it).
   */
  async function roundTrip(ua: UserAgent, path: '/account' | '/console'): Promise<RoundTrip> {
    dropCookie(ua, path === '/account' ? ACCOUNT_COOKIE : CONSOLE_COOKIE);
    const toProvider = await ua.get(`${server.url}${path === '/account' ? path : `${path}/`}`);
    expect(toProvider.status).toBe(302);
    const authorize = new URL(toProvider.location!);
    authorize.searchParams.delete('prompt');
    const back = await ua.get(authorize);
    const callback = new URL(back.location!, server.url);
    expect(callback.pathname).toBe(`${path}/callback`);
    return {
      callback,
      code: callback.searchParams.get('code')!,
      state: callback.searchParams.get('state')!,
    };
  }

  /** The browser brings `code` back to the callback at `path` under `state`. */
  function deliver(ua: UserAgent, path: '/account' | '/console', code: string | undefined, state?: string) {
    const url = new URL(`${path}/callback`, server.url);
    if (code !== undefined) url.searchParams.set('code', code);
    if (state !== undefined) url.searchParams.set('state', state);
    url.searchParams.set('iss', server.issuer);
    return ua.get(url);
  }

  /** The callback opened no 用户空间 session: the browser is told so, and has no cookie of it. */
  function expectNoAccountSession(ua: UserAgent, answer: PageResponse) {
    expect({ status: answer.status, to: pathOf(answer) }).toEqual({ status: 302, to: '/account/signed-out' });
    expect(hasCookie(ua, ACCOUNT_COOKIE)).toBe(false);
  }

  it('an SSO session alone opens no 用户空间 session: the code must be redeemed, and is', async () => {
    const { ua } = await signedIn();
    // Without the site's own session, the SSO session only starts a round trip.
    dropCookie(ua, ACCOUNT_COOKIE);
    const page = await ua.get(`${server.url}/account`);
    expect(new URL(page.location!).pathname).toBe('/auth');

    // A code someone else redeemed first (the round trip is right, the code used): nothing opens.
    const used = await roundTrip(ua, '/account');
    const found = await server.host.provider.AuthorizationCode.find(used.code);
    await found!.consume();
    expectNoAccountSession(ua, await ua.get(used.callback));

    // The same round trip with its code unused opens the session, and uses the code up.
    const trip = await roundTrip(ua, '/account');
    expect((await server.host.provider.AuthorizationCode.find(trip.code))?.isValid).toBe(true);
    const back = await ua.get(trip.callback);
    expect({ status: back.status, to: pathOf(back) }).toEqual({ status: 302, to: '/account' });
    expect(hasCookie(ua, ACCOUNT_COOKIE)).toBe(true);
    expect((await server.host.provider.AuthorizationCode.find(trip.code))?.isValid ?? false).toBe(false);
  });

  it('a replayed code opens nothing, with its own round trip or a new one', async () => {
    const { ua } = await signedIn();
    const trip = await roundTrip(ua, '/account');
    const flow = (await server.services.flowStates.get('account-login', trip.state))!;
    expect((await ua.get(trip.callback)).status).toBe(302);
    expect(hasCookie(ua, ACCOUNT_COOKIE)).toBe(true);

    // The same callback again: its round trip is used up.
    dropCookie(ua, ACCOUNT_COOKIE);
    expectNoAccountSession(ua, await ua.get(trip.callback));
    // A new round trip made to hold the first one's verifier and nonce: the code is used up.
    const next = await roundTrip(ua, '/account');
    await server.services.flowStates.put('account-login', next.state, flow);
    expectNoAccountSession(ua, await deliver(ua, '/account', trip.code, next.state));
  });

  it('a code without its state, under another round trip’s state, or with another verifier opens nothing', async () => {
    const { ua } = await signedIn();
    const first = await roundTrip(ua, '/account');
    const second = await roundTrip(ua, '/account');
    expectNoAccountSession(ua, await deliver(ua, '/account', first.code));
    // The first round trip's code under the second's state (a swapped state: another verifier).
    expectNoAccountSession(ua, await deliver(ua, '/account', first.code, second.state));

    // The right state and code, but the round trip's PKCE verifier is another one.
    const third = await roundTrip(ua, '/account');
    const flow = (await server.services.flowStates.get('account-login', third.state))!;
    const verifier = randomBytes(32).toString('base64url');
    await server.services.flowStates.put('account-login', third.state, { ...flow, verifier });
    expectNoAccountSession(ua, await ua.get(third.callback));

    // The state lost: nothing to redeem with.
    const fourth = await roundTrip(ua, '/account');
    await server.services.flowStates.remove('account-login', fourth.state);
    expectNoAccountSession(ua, await ua.get(fourth.callback));
  });

  it('a code and state carried to another browser open nothing there', async () => {
    const { ua } = await signedIn();
    const trip = await roundTrip(ua, '/account');
    // Every cookie of the first browser but its browser id: its SSO session included.
    const other = new UserAgent();
    other.cookies.push(...ua.cookies.filter((c) => c.name !== 'uid.browser' && c.name !== 'uid.browser.sig'));
    expectNoAccountSession(other, await other.get(trip.callback));
  });

  it('a code of another site opens no session of 用户空间 or the console', async () => {
    const operator = await addOperator(server, 'system');
    const { ua } = await consoleSignIn(server, operator.phone);

    // A government site's code, brought to 用户空间 under a round trip of its own.
    const rp = await registerRelyingParty(server);
    const { callbackUrl } = await authorize(ua, rp, { consent: 'allow' });
    const rpCode = callbackUrl!.searchParams.get('code')!;
    const account = await roundTrip(ua, '/account');
    expectNoAccountSession(ua, await deliver(ua, '/account', rpCode, account.state));

    // The console's code at 用户空间, and 用户空间's at the console.
    const consoleTrip = await roundTrip(ua, '/console');
    const accountTrip = await roundTrip(ua, '/account');
    expectNoAccountSession(ua, await deliver(ua, '/account', consoleTrip.code, accountTrip.state));
    const consoleAgain = await roundTrip(ua, '/console');
    const accountAgain = await roundTrip(ua, '/account');
    const atConsole = await deliver(ua, '/console', accountAgain.code, consoleAgain.state);
    expect({ status: atConsole.status, to: pathOf(atConsole) }).toEqual({ status: 302, to: '/console/' });
    expect(hasCookie(ua, CONSOLE_COOKIE)).toBe(false);
  });

  it('after idling in 用户空间, a code without a fresh login opens nothing', async () => {
    const { ua } = await signedIn();
    // Later (auth_time counts whole seconds), and idle for longer than ACCOUNT_IDLE_TIMEOUT.
    const signedInSecond = Math.floor(Date.now() / 1000);
    await expect.poll(() => Math.floor(Date.now() / 1000), { interval: 100 }).toBeGreaterThan(signedInSecond);
    await server.database.db('session_meta').update({ last_seen_at: new Date(Date.now() - 31 * 60_000) });
    const toProvider = await ua.get(`${server.url}/account`);
    const authorize = new URL(toProvider.location!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    // The browser drops prompt=login: the provider answers from the SSO session at once…
    authorize.searchParams.delete('prompt');
    const back = await ua.get(authorize);
    expect(new URL(back.location!).pathname).toBe('/account/callback');
    // …and 用户空间 refuses that code: the password is asked again.
    dropCookie(ua, ACCOUNT_COOKIE);
    expectNoAccountSession(ua, await ua.get(new URL(back.location!, server.url)));
  });

  it('a 用户空间 cookie carried into a browser signed in as someone else opens nothing there, and ends nothing', async () => {
    const victim = await signedIn();
    const attacker = await signedIn();
    // The attacker's browser, with its own SSO session, and the victim's 用户空间 cookie.
    dropCookie(attacker.ua, ACCOUNT_COOKIE);
    attacker.ua.cookies.push(...victim.ua.cookies.filter((c) => c.name.startsWith(ACCOUNT_COOKIE)));
    const page = await attacker.ua.get(`${server.url}/account`);
    expect({ status: page.status, to: pathOf(page) }).toEqual({ status: 302, to: '/auth' });
    // The victim is still signed in.
    const own = await victim.ua.get(`${server.url}/account`);
    expect(own.status).toBe(200);
  });

  it('a console session held below acr mfa in the database is not served', async () => {
    const operator = await addOperator(server, 'system');
    const { ua } = await consoleSignIn(server, operator.phone);
    expect((await ua.get(`${server.url}/console/sites`)).status).toBe(200);
    const id = decodeURIComponent(ua.cookies.find((c) => c.name === CONSOLE_COOKIE)!.value);
    const session = (await server.services.flowStates.get('console-session', id))!;
    await server.services.flowStates.put('console-session', id, {
      ...session,
      acr: 'urn:unified-id:acr:basic',
    });
    const page = await ua.get(`${server.url}/console/sites`);
    expect({ status: page.status, to: pathOf(page) }).toEqual({ status: 302, to: '/auth' });
  });
});

/**
 * 用户空间 redeems every code from this very process: counted by that address, one person's quick
 * round trips would use up /token's allowance for every sign-in to 用户空间. Each counts for the
 * browser it redeems for.
 */
describe('the /token allowance of 用户空间 is counted per browser address', () => {
  const LIMIT = 4;
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TOKEN_REQUESTS_PER_MINUTE: String(LIMIT), TRUST_PROXY: '1' } });
  });
  afterAll(() => server?.close());

  async function signIn(ua: UserAgent, phone: string) {
    const login = await ua.follow(await ua.get(`${server.url}/account`));
    return submit(ua, login, '/login', { login: phone, password: PASSWORD });
  }

  it('one person signing in to 用户空间 again and again uses up only the allowance of his own address', async () => {
    const busy = new UserAgentAt('198.51.100.7');
    const { phone } = await addCitizen(server, PASSWORD);
    expect(new URL((await signIn(busy, phone)).url).pathname).toBe('/account');
    // Round trips answered from the SSO session, until /token refuses this browser's redemptions.
    const landed: string[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      dropCookie(busy, ACCOUNT_COOKIE);
      landed.push(new URL((await busy.follow(await busy.get(`${server.url}/account`))).url).pathname);
    }
    expect(landed).toContain('/account/signed-out');

    const other = new UserAgentAt('198.51.100.8');
    const { phone: otherPhone } = await addCitizen(server, PASSWORD);
    expect(new URL((await signIn(other, otherPhone)).url).pathname).toBe('/account');
  });
});
