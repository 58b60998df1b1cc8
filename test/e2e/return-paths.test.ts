import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen, submit } from '../support/citizen.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Fan-Hui#2024';

/** `back` values an attacker puts in a link to the 长辈模式 switch, which needs no sign-in. */
const HOSTILE_BACK = [
  '//evil.example/x',
  '/\\evil.example/x',
  '/.//evil.example/x',
  '/a/..//evil.example/x',
  '/account/../..//evil.example/x',
  '/%2e%2e//evil.example/x',
  '/%2F/evil.example/x',
  '/%5Cevil.example/x',
  '/%252F%252Fevil.example/x',
  '/\t/evil.example/x',
  '/\n/evil.example/x',
  ' //evil.example/x',
  'https://evil.example/x',
  'https:evil.example',
  'javascript:alert(1)',
];

/** Pages a sign-in of 用户空间 may have begun at (the address of a link someone followed). */
const HOSTILE_PAGES = [
  ...HOSTILE_BACK,
  '/account/..//evil.example/x',
  '/account/.//..//evil.example/x',
  '/account/%2e%2e//evil.example/x',
  '/account/..%2F%2Fevil.example/x',
  '/account/..\\/evil.example/x',
  '/account/..%5C%5Cevil.example/x',
  '/account/../console/sites',
  '/accounts.evil.example/x',
];

/** One GET, no redirect followed: status and Location exactly as sent. */
async function get(server: TestServer, path: string) {
  const res = await fetch(`${server.url}${path}`, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? '' };
}

describe('no Location the product answers leaves its origin', () => {
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    server = await startTestServer();
    origin = new URL(server.issuer).origin;
  });
  afterAll(() => server?.close());

  /** Where a browser goes when it follows `location` from a page of ours, at any depth. */
  const destinations = (location: string) =>
    [`${origin}/`, `${origin}/account/sessions`, `${origin}/a/b/c/`].map((from) => new URL(location, from));

  it.each(HOSTILE_BACK)('the display switch with back=%j returns to a page of this site', async (back) => {
    const { status, location } = await get(server, `/display?mode=elder&back=${encodeURIComponent(back)}`);
    expect(status).toBe(302);
    expect(location).toBe('/account');
    for (const url of destinations(location)) expect(url.origin).toBe(origin);
  });

  it('the display switch still returns to the page it was used on', async () => {
    const back = '/account/sessions?page=2';
    expect((await get(server, `/display?mode=elder&back=${encodeURIComponent(back)}`)).location).toBe(back);
  });

  /**
   * A browser with an SSO session and no 用户空间 session: a sign-in of 用户空间 begun now
   * comes back with a code at once (no login page), as after following a link.
   */
  async function signedInBrowser(): Promise<UserAgent> {
    const ua = new UserAgent();
    const { phone } = await addCitizen(server, PASSWORD);
    const landed = await submit(ua, await ua.follow(await ua.get(`${server.url}/account`)), '/login', {
      login: phone,
      password: PASSWORD,
    });
    expect(new URL(landed.url).pathname).toBe('/account');
    dropAccountCookie(ua);
    return ua;
  }
  const dropAccountCookie = (ua: UserAgent) => {
    for (let i = ua.cookies.length - 1; i >= 0; i--)
      if (ua.cookies[i]!.name.startsWith('uid.account')) ua.cookies.splice(i, 1);
  };

  it('a sign-in of 用户空间 returns into 用户空间, whatever page it was begun at', async () => {
    const ua = await signedInBrowser();
    for (const page of HOSTILE_PAGES) {
      const begin = await ua.get(`${server.url}/account/sessions`);
      expect(begin.status).toBe(302);
      const state = new URL(begin.location!).searchParams.get('state') ?? '';
      // The page the sign-in was begun at, as the account space stored it, replaced.
      const flow = (await server.services.flowStates.get('account-login', state))!;
      await server.services.flowStates.put('account-login', state, { ...flow, returnTo: page });
      const toCallback = await ua.get(begin.location!);
      expect(new URL(toCallback.location!).pathname).toBe('/account/callback');
      const back = await ua.get(new URL(toCallback.location!, server.url));
      expect({ page, status: back.status }).toEqual({ page, status: 302 });
      for (const url of destinations(back.location!)) {
        expect(url.origin).toBe(origin);
        expect(url.pathname === '/account' || url.pathname.startsWith('/account/')).toBe(true);
      }
      dropAccountCookie(ua);
    }
  });

  it('a sign-in of 用户空间 returns to the page it was begun at', async () => {
    const ua = await signedInBrowser();
    const landed = await ua.follow(await ua.get(`${server.url}/account/sessions?page=2`));
    expect(landed.url).toBe(`${server.url}/account/sessions?page=2`);
    expect(landed.status).toBe(200);
  });
});
