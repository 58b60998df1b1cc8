import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, submit } from '../support/citizen.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { previousTotpCode } from '../support/totp.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Yun-Wei#2024';
const CONSOLE_COOKIE = 'uid.console';

const isLoginPage = (page: PageResponse) =>
  page.url.includes('/interaction/') && /<form[^>]*action="[^"]*\/login"/.test(page.body);
const isSitesPage = (page: PageResponse) =>
  new URL(page.url).pathname === '/console/sites' && page.status === 200;
const dropConsoleCookie = (ua: UserAgent) => {
  for (let i = ua.cookies.length - 1; i >= 0; i--)
    if (ua.cookies[i]!.name.startsWith(CONSOLE_COOKIE)) ua.cookies.splice(i, 1);
};

/**
 * The console's sign-in proves a fresh login every time, and its idle end is a row in the
 * database, not the cookie: a 系统管理员 who loses the console cookie, or idles, types the
 * password and the second factor again, however long the 8-hour SSO session still runs.
 */
describe('管理后台 sessions: a fresh login each time, the idle end held by the server', () => {
  let a: TestServer;
  let b: TestServer;
  let operator: { phone: string; id: string };
  /** One for each sign-in: the TOTP code of a time step is accepted only once. */
  let recoveryCodes: string[];
  const IDLE_SECONDS = 4;

  beforeAll(async () => {
    const env = { CONSOLE_IDLE_TIMEOUT: String(IDLE_SECONDS) };
    a = await startTestServer({ env });
    // A second process of the same deployment: the console session must mean the same to both.
    b = await startTestServer({ env, sameDeploymentAs: a });
    operator = await addCitizen(a, PASSWORD);
    await a.services.operators.add(operator.phone, 'system', { actor: 'test', reason: '测试' });
    // 两步验证 on, as the operator would turn it on in 用户空间.
    const { secret } = await a.services.totp.beginEnrolment(operator.id, 'operator');
    recoveryCodes = await a.services.totp.confirmEnrolment(operator.id, await previousTotpCode(secret));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** Password, then the second factor the admin scope asks for: where the browser ends up. */
  async function signInFrom(ua: UserAgent, loginPage: PageResponse): Promise<PageResponse> {
    expect(isLoginPage(loginPage)).toBe(true);
    const second = await submit(ua, loginPage, '/login', { login: operator.phone, password: PASSWORD });
    expect(second.body).toContain('两步验证');
    return submit(ua, second, '/totp', { code: recoveryCodes.pop()! });
  }

  async function openSites(ua: UserAgent, server: TestServer = a) {
    return ua.follow(await ua.get(`${server.url}/console/sites`));
  }

  async function signedInOperator(): Promise<UserAgent> {
    const ua = new UserAgent();
    expect(isSitesPage(await signInFrom(ua, await openSites(ua)))).toBe(true);
    return ua;
  }

  it('an operator whose console cookie is deleted must type the password again', async () => {
    const ua = await signedInOperator();
    dropConsoleCookie(ua);
    const page = await openSites(ua);
    expect(isLoginPage(page)).toBe(true);
    // …and gets back in only by signing in again.
    expect(isSitesPage(await signInFrom(ua, page))).toBe(true);
  });

  it('a console sign-in without prompt=login, riding on the SSO session, starts no console session', async () => {
    const ua = await signedInOperator();
    // Later (auth_time counts whole seconds), someone at the operator's browser tries the console.
    const signedInSecond = Math.floor(Date.now() / 1000);
    await expect.poll(() => Math.floor(Date.now() / 1000), { interval: 100 }).toBeGreaterThan(signedInSecond);
    dropConsoleCookie(ua);
    const toProvider = await ua.get(`${a.url}/console/sites`);
    const authorize = new URL(toProvider.location!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    authorize.searchParams.delete('prompt');
    // The provider answers with a code at once (the SSO session is still at acr mfa)…
    const code = await ua.get(authorize);
    expect(new URL(code.location!).pathname).toBe('/console/callback');
    // …which the console refuses: the browser is sent to sign in.
    const landed = await ua.follow(code);
    expect(isLoginPage(landed)).toBe(true);
    expect(ua.cookies.some((c) => c.name === CONSOLE_COOKIE)).toBe(false);
  });

  it('a console sign-in returns only to a console page, whatever page it was begun at', async () => {
    for (const begunAt of ['/console/..//evil.example/x', '/console/../account', '//evil.example/console/']) {
      const ua = new UserAgent();
      const toProvider = await ua.get(`${a.url}/console/sites`);
      const state = new URL(toProvider.location!).searchParams.get('state')!;
      // The round trip as stored, its page replaced (a path the router would not have matched).
      const flow = (await a.services.flowStates.get('console-login', state))!;
      await a.services.flowStates.put('console-login', state, { ...flow, returnTo: begunAt });
      const landed = await signInFrom(ua, await ua.follow(toProvider));
      expect({ begunAt, landed: landed.url }).toEqual({ begunAt, landed: `${a.url}/console/sites` });
    }
  });

  it(`a console session idle past CONSOLE_IDLE_TIMEOUT is refused by every process, cookie or not`, async () => {
    const ua = await signedInOperator();
    // The other process serves the same session (the row is in the database)…
    expect(isSitesPage(await openSites(ua, b))).toBe(true);
    const row = async () =>
      a.database
        .db('flow_states')
        .where('id', 'like', 'console-session:%')
        .orderBy('expires_at', 'desc')
        .first();
    const { expires_at: idleEnd } = await row();
    expect(new Date(idleEnd).getTime() - Date.now()).toBeLessThanOrEqual(IDLE_SECONDS * 1000);
    // …until the server's clock passes the idle end; no request is made meanwhile.
    await expect
      .poll(async () => Date.now() > new Date(idleEnd).getTime() + 200, { timeout: 10_000, interval: 250 })
      .toBe(true);
    expect(ua.cookies.some((c) => c.name === CONSOLE_COOKIE)).toBe(true);
    const page = await openSites(ua, b);
    expect(isLoginPage(page)).toBe(true);
    expect(isSitesPage(await signInFrom(ua, page))).toBe(true);
  });

  it("refuses a console form post without the page's CSRF token, or with a wrong one, and changes nothing", async () => {
    const ua = await signedInOperator();
    const keys = await ua.get(`${a.url}/console/keys`);
    expect(keys.status).toBe(200);
    const before = await rowCount(a, 'signing_keys');
    const action = new URL('/console/keys/rotate', a.url);
    for (const csrf of [undefined, 'x'.repeat(43)]) {
      const res = await ua.post(
        action,
        csrf === undefined ? { reason: '例行轮换' } : { reason: '例行轮换', _csrf: csrf },
      );
      expect(res.status).toBe(403);
    }
    expect(await rowCount(a, 'signing_keys')).toBe(before);
  });
});
