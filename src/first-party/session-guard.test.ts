import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryFlowStateStore } from '../../test/support/memory-flow-states.js';
import { ACR } from '../access/scopes.js';
import { DataProtector } from '../crypto/sealed.js';
import { AppError } from '../errors.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { FlowStates } from '../state/flow-state.js';
import { Csrf } from '../web/csrf.js';
import { errorHandler } from '../web/error-handler.js';
import { Views } from '../web/views.js';
import type { FirstPartySession, FirstPartySite } from './first-party-site.js';
import { SessionGuard, type SiteRules } from './session-guard.js';
import type { FirstPartySignIn } from './sign-in.js';

// A first-party site's session as a browser meets it, on a real HTTP server: the sign-in itself
// (redeeming the code) is given by hand, so what the guard alone decides is tried on its own:
// which cookie, which SSO session, which acr, which CSRF token lets a request through.
// Everything is built inside each test (docs/mutation-testing.md).

const SITE: FirstPartySite = {
  name: '测试站点',
  clientId: 'site-client',
  path: '/site',
  scope: 'openid',
  loginKind: 'account-login',
  sessionKind: 'account-session',
  cookie: 'site_session',
  idleTimeoutSeconds: 900,
  minimumAcr: ACR.mfa,
  freshSignIn: async () => false,
  home: '/site/home',
  refusedPath: '/site/refused',
};

const SESSION: FirstPartySession = { accountId: 'acc-1', sessionUid: 'sso-1', acr: ACR.mfa };

type Finish = Awaited<ReturnType<FirstPartySignIn['finish']>>;

interface World {
  origin: string;
  rows: Map<string, { data: Record<string, unknown>; ttl: number }>;
  /** The ids of the rows the guard asked to remove, in order (each a statement on the database). */
  removed: string[];
  /** The browser's SSO session as oidc-provider would find it. */
  sso: { uid?: string; accountId?: string };
  /** What the next callback's redeemed code proves. */
  finish: Finish;
  /** What admit says of the session's account. */
  admitted: 'yes' | 'idle' | 'no';
  /** Whether the site asks for a fresh sign-in. */
  fresh: boolean;
  /** signingIn refuses the session when set. */
  refuseAtSignIn: boolean;
  begun: { returnTo: string; fresh: boolean }[];
  csrf: Csrf;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function start(
  site: FirstPartySite = SITE,
  { siteChecksSignIn = true, signingKeys = true } = {},
): Promise<World> {
  const { rows, store: memory } = memoryFlowStateStore();
  const removed: string[] = [];
  const store = Object.assign(Object.create(null), memory, {
    remove: (id: string) => {
      removed.push(id);
      return memory.remove(id);
    },
  }) as typeof memory;
  const csrf = new Csrf([{ hash: 'sha256', key: randomBytes(32) }]);
  const world: World = {
    origin: '',
    rows,
    removed,
    sso: { uid: 'sso-1', accountId: 'acc-1' },
    finish: { session: SESSION, returnTo: '/site/page' },
    admitted: 'yes',
    fresh: false,
    refuseAtSignIn: false,
    begun: [],
    csrf,
  };
  const host = {
    provider: {
      Session: {
        get: async () => ({ uid: world.sso.uid, accountId: world.sso.accountId }),
      },
    },
  } as unknown as ProviderHost;
  const signIn = {
    begin: async (_ctx: unknown, returnTo: string, fresh: boolean) => {
      world.begun.push({ returnTo, fresh });
      return `https://id.example/auth?fresh=${fresh}`;
    },
    finish: async () => world.finish,
  } as unknown as FirstPartySignIn;
  const rules: SiteRules<{ who: string }> = {
    admit: async (_ctx, session) =>
      world.admitted === 'yes' ? { who: session.accountId } : world.admitted === 'idle' ? 'idle' : undefined,
    ...(siteChecksSignIn
      ? {
          signingIn: async () => {
            if (world.refuseAtSignIn) throw new AppError(403, 'refused_here', '不能进入');
          },
        }
      : {}),
    remember: (ctx, principal) => {
      ctx.state['who'] = principal.who;
    },
  };
  const guard = new SessionGuard(
    { host, flowStates: new FlowStates(store, new DataProtector(Buffer.alloc(32, 5))), csrf },
    { ...site, freshSignIn: async () => world.fresh },
    signIn,
    rules,
  );
  const app = new Koa(signingKeys ? { keys: [randomBytes(32).toString('base64')] } : {});
  app.use(errorHandler(new Views({ cache: true, devMode: true })));
  // A page outside the guard hands out the browser's CSRF token, as a sign-in page would.
  app.use(async (ctx, next) => {
    if (ctx.path === '/token') ctx.body = csrf.token(ctx);
    else await next();
  });
  const router = new Router({ prefix: site.path });
  guard.mount(router);
  router.get('/page', (ctx) => {
    ctx.body = `page of ${ctx.state['who']}`;
  });
  router.post('/change', (ctx) => {
    ctx.body = `changed by ${ctx.state['who']}`;
  });
  router.get('/logout', async (ctx) => {
    await guard.end(ctx);
    ctx.body = 'signed out';
  });
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  world.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return world;
}

/** A browser: keeps the cookies it is given, follows nothing. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly world: World) {}

  async request(path: string, init: RequestInit = {}) {
    const res = await fetch(`${this.world.origin}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookieHeader() },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), body: await res.text(), res };
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** The CSRF token of this browser, from a page outside the guard. */
  async token() {
    return (await this.request('/token')).body;
  }

  async signIn() {
    const callback = await this.request('/site/callback?code=x&state=y');
    expect(callback.status).toBe(302);
    return callback;
  }
}

const sessionRows = (world: World) => [...world.rows].filter(([id]) => id.startsWith('account-session:'));

describe('a first-party site without a session', () => {
  it('sends a GET to sign in and back to the page asked for', async () => {
    const world = await start();
    const browser = new Browser(world);
    const res = await browser.request('/site/page?tab=2');
    expect(res.status).toBe(302);
    expect(res.location).toBe('https://id.example/auth?fresh=false');
    expect(world.begun).toEqual([{ returnTo: '/site/page?tab=2', fresh: false }]);
  });

  it('sends a POST, and the sign-out page, back to the home page instead', async () => {
    const world = await start();
    const browser = new Browser(world);
    const post = await browser.request('/site/change', { method: 'POST' });
    expect(post.location).toBe('https://id.example/auth?fresh=false');
    await browser.request('/site/logout');
    expect(world.begun).toEqual([
      { returnTo: '/site/home', fresh: false },
      { returnTo: '/site/home', fresh: false },
    ]);
  });

  it('asks for a fresh sign-in when the site wants one', async () => {
    const world = await start();
    world.fresh = true;
    await new Browser(world).request('/site/page');
    expect(world.begun).toEqual([{ returnTo: '/site/page', fresh: true }]);
  });
});

describe('the callback', () => {
  it('opens a session in a signed, httpOnly cookie below the site, kept for the idle timeout', async () => {
    const world = await start();
    const browser = new Browser(world);
    const callback = await browser.signIn();
    expect(callback.location).toBe('/site/page');
    // The first site_session line clears the session the browser had; the second is the new one.
    const line = callback.res.headers.getSetCookie().find((l) => /^site_session=[^;]/.test(l))!;
    expect(line).toMatch(/; path=\/site;/);
    expect(line).toMatch(/; samesite=lax/);
    expect(line).toMatch(/; httponly/);
    expect(
      callback.res.headers.getSetCookie().some((l) => /^site_session\.sig=[^;]+; path=\/site;/.test(l)),
    ).toBe(true);
    expect(browser.cookies.has('site_session.sig')).toBe(true);
    expect(sessionRows(world)).toEqual([
      [`account-session:${browser.cookies.get('site_session')}`, { data: SESSION, ttl: 900 }],
    ]);
    expect(await browser.request('/site/page')).toMatchObject({ status: 200, body: 'page of acc-1' });
  });

  it('opens a session on a site with no check of its own at sign-in', async () => {
    const world = await start(SITE, { siteChecksSignIn: false });
    const browser = new Browser(world);
    await browser.signIn();
    expect(await browser.request('/site/page')).toMatchObject({ status: 200, body: 'page of acc-1' });
  });

  it.each([
    ['another site', 'https://evil.example/steal'],
    ['a page of the provider outside the site', '/console/users'],
    ['a look-alike prefix', '/site-evil/page'],
  ])('returns to the home page, never to %s', async (_, returnTo) => {
    const world = await start();
    world.finish = { session: SESSION, returnTo };
    expect((await new Browser(world).signIn()).location).toBe('/site/home');
  });

  it('opens nothing for a cancelled sign-in or a code that proved nothing', async () => {
    const world = await start();
    const browser = new Browser(world);
    world.finish = 'cancelled';
    expect((await browser.request('/site/callback')).location).toBe('/site/signed-out');
    world.finish = undefined;
    expect((await browser.request('/site/callback')).location).toBe('/site/refused');
    expect(browser.cookies.has('site_session')).toBe(false);
    expect(sessionRows(world)).toEqual([]);
  });

  it('opens nothing when the site refuses the account at sign-in', async () => {
    const world = await start();
    world.refuseAtSignIn = true;
    const browser = new Browser(world);
    expect((await browser.request('/site/callback')).status).toBe(403);
    expect(browser.cookies.has('site_session')).toBe(false);
    expect(sessionRows(world)).toEqual([]);
  });

  it('removes no row at the sign-in of a browser that had no session: no statement for nothing', async () => {
    const world = await start();
    await new Browser(world).signIn();
    expect(world.removed).toEqual([]);
    expect(sessionRows(world)).toHaveLength(1);
  });

  it('ends the session the browser had before: a cookie planted before the sign-in is worth nothing after', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    const planted = new Map(browser.cookies);
    await browser.signIn();
    expect(sessionRows(world)).toHaveLength(1);
    const other = new Browser(world);
    for (const [k, v] of planted) other.cookies.set(k, v);
    expect((await other.request('/site/page')).status).toBe(302);
    expect((await browser.request('/site/page')).status).toBe(200);
  });
});

describe('a session', () => {
  it("is not ended by a sign-in in another browser that carries its cookie without the server's signature", async () => {
    const world = await start();
    const owner = new Browser(world);
    await owner.signIn();
    const attacker = new Browser(world);
    attacker.cookies.set('site_session', owner.cookies.get('site_session')!);
    await attacker.signIn();
    attacker.cookies.set('site_session', owner.cookies.get('site_session')!);
    attacker.cookies.set('site_session.sig', 'forged');
    await attacker.signIn();
    expect(sessionRows(world)).toHaveLength(3);
    expect(await owner.request('/site/page')).toMatchObject({ status: 200, body: 'page of acc-1' });
  });

  it('is never read from an unsigned cookie, even in an app that was given no signing keys', async () => {
    const world = await start(SITE, { signingKeys: false });
    const id = randomBytes(24).toString('base64url');
    world.rows.set(`account-session:${id}`, { data: { ...SESSION }, ttl: 900 });
    const browser = new Browser(world);
    browser.cookies.set('site_session', id);
    expect((await browser.request('/site/page')).status).toBe(302);
    // Nor does a sign-in end it: without keys the callback can not sign a cookie, and fails.
    expect((await browser.request('/site/callback?code=x&state=y')).status).toBe(500);
    expect(world.rows.has(`account-session:${id}`)).toBe(true);
  });

  it("is refused with a cookie whose signature is not the server's", async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    browser.cookies.delete('site_session.sig');
    expect((await browser.request('/site/page')).status).toBe(302);
    browser.cookies.set('site_session.sig', 'forged');
    expect((await browser.request('/site/page')).status).toBe(302);
  });

  it.each([
    ['the SSO session ended', { uid: undefined, accountId: undefined }],
    ['another SSO session of the same account', { uid: 'sso-2', accountId: 'acc-1' }],
    ["another account's SSO session", { uid: 'sso-1', accountId: 'acc-2' }],
  ])(
    'holds only with the SSO session it came from: not when %s, and its row is left alone',
    async (_, sso) => {
      const world = await start();
      const browser = new Browser(world);
      await browser.signIn();
      world.sso = sso;
      const res = await browser.request('/site/page');
      expect(res.status).toBe(302);
      expect(world.begun.at(-1)).toEqual({ returnTo: '/site/page', fresh: false });
      expect(sessionRows(world)).toHaveLength(1);
      world.sso = { uid: 'sso-1', accountId: 'acc-1' };
      expect((await browser.request('/site/page')).status).toBe(200);
    },
  );

  it("holds only while its acr is the site's", async () => {
    const world = await start();
    world.finish = { session: { ...SESSION, acr: ACR.basic }, returnTo: '/site/page' };
    const browser = new Browser(world);
    await browser.signIn();
    expect((await browser.request('/site/page')).status).toBe(302);
  });

  it('is open at any acr on a site that demands none', async () => {
    const world = await start({ ...SITE, minimumAcr: undefined });
    world.finish = { session: { ...SESSION, acr: ACR.basic }, returnTo: '/site/page' };
    const browser = new Browser(world);
    await browser.signIn();
    expect((await browser.request('/site/page')).status).toBe(200);
  });

  it('ends for good when the site no longer admits the account', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    world.admitted = 'no';
    expect((await browser.request('/site/page')).status).toBe(302);
    expect(world.begun.at(-1)).toEqual({ returnTo: '/site/page', fresh: false });
    expect(sessionRows(world)).toEqual([]);
    world.admitted = 'yes';
    expect((await browser.request('/site/page')).status).toBe(302);
  });

  it('held idle by the site ends, and asks for a fresh sign-in', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    world.admitted = 'idle';
    expect((await browser.request('/site/page')).status).toBe(302);
    expect(world.begun.at(-1)).toEqual({ returnTo: '/site/page', fresh: true });
    expect(sessionRows(world)).toEqual([]);
  });

  it('whose row has ended asks for a fresh sign-in', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    world.rows.clear();
    expect((await browser.request('/site/page')).status).toBe(302);
    expect(world.begun.at(-1)).toEqual({ returnTo: '/site/page', fresh: true });
  });

  it('is given the whole idle timeout again by each request', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    const [[id]] = sessionRows(world) as [[string, unknown]];
    world.rows.set(id, { data: { ...SESSION }, ttl: 1 });
    expect((await browser.request('/site/page')).status).toBe(200);
    expect(world.rows.get(id)).toEqual({ data: SESSION, ttl: 900 });
  });

  it('ends at sign-out: its row is gone and its cookie cleared', async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.signIn();
    const stolen = new Map(browser.cookies);
    expect((await browser.request('/site/logout')).body).toBe('signed out');
    expect(browser.cookies.has('site_session')).toBe(false);
    expect(sessionRows(world)).toEqual([]);
    const thief = new Browser(world);
    for (const [k, v] of stolen) thief.cookies.set(k, v);
    expect((await thief.request('/site/page')).status).toBe(302);
  });
});

describe('a form post in a session', () => {
  it("is refused without the browser's CSRF token, or with another browser's", async () => {
    const world = await start();
    const browser = new Browser(world);
    await browser.token();
    await browser.signIn();
    const other = new Browser(world);
    const othersToken = await other.token();
    for (const body of ['', `_csrf=${othersToken}`, '_csrf=']) {
      const res = await browser.request('/site/change', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'csrf' });
    }
  });

  it('passes with the token as a field or as the X-CSRF-Token header', async () => {
    const world = await start();
    const browser = new Browser(world);
    const token = await browser.token();
    await browser.signIn();
    const field = await browser.request('/site/change', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(token)}`,
    });
    expect(field).toMatchObject({ status: 200, body: 'changed by acc-1' });
    const header = await browser.request('/site/change', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: '{}',
    });
    expect(header).toMatchObject({ status: 200, body: 'changed by acc-1' });
  });
});
