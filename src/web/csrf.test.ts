import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Csrf } from './csrf.js';
import { errorHandler } from './error-handler.js';
import { Views } from './views.js';

/**
 * The double-submit check as a browser meets it: a page hands out the token and the signed
 * browser cookie, a form post carries the token back. Every way of getting it wrong must end in
 * the 403 `csrf` answer, never in a 500 or a pass.
 */
describe('Csrf', () => {
  const key = randomBytes(32);
  /** The other crypto profile's key, still accepted after a change of profile. */
  const previous = randomBytes(32);
  let origin: string;
  let close: () => void;

  beforeAll(async () => {
    const app = new Koa({ keys: [randomBytes(32).toString('base64')] });
    const csrf = new Csrf([
      { hash: 'sha256', key },
      { hash: 'sm3', key: previous },
    ]);
    const makers: Record<string, Csrf> = {
      // A form loaded just before the profile changed.
      '/before-the-change': new Csrf([{ hash: 'sm3', key: previous }]),
      // Another deployment: the same cookie keys, another CSRF key.
      '/elsewhere': new Csrf([{ hash: 'sha256', key: randomBytes(32) }]),
      // The right key under the other profile's HMAC.
      '/other-hash': new Csrf([{ hash: 'sm3', key }]),
    };
    app.use(errorHandler(new Views({ cache: true, devMode: true })));
    app.use(koaBody());
    app.use((ctx) => {
      if (ctx.method === 'GET') {
        ctx.body = { token: (makers[ctx.path] ?? csrf).token(ctx) };
        return;
      }
      csrf.verify(ctx, (ctx.request.body as Record<string, unknown>)['csrf']);
      ctx.status = 204;
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close?.());

  /** A browser's first page: its cookies and the form's token. */
  async function page(path = '/form', cookie?: string) {
    const res = await fetch(`${origin}${path}`, cookie ? { headers: { cookie } } : {});
    const token = ((await res.json()) as { token: string }).token;
    const set = res.headers.getSetCookie().map((c) => c.split(';')[0]);
    return { token, cookie: cookie ?? set.join('; ') };
  }

  async function post(cookie: string | undefined, body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${origin}/submit`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(cookie ? { cookie } : {}),
        ...headers,
      },
      body,
    });
    return {
      status: res.status,
      error: res.status === 204 ? undefined : ((await res.json()) as { error: string }).error,
    };
  }

  const refused = { status: 403, error: 'csrf' };

  it("accepts the page's token from the form field or the X-CSRF-Token header", async () => {
    const { token, cookie } = await page();
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(await post(cookie, `csrf=${token}`)).toEqual({ status: 204, error: undefined });
    expect(await post(cookie, '', { 'x-csrf-token': token })).toEqual({ status: 204, error: undefined });
    // The same browser gets the same token on its next page.
    expect((await page('/form', cookie)).token).toBe(token);
  });

  it('refuses a post without a token, or with the field given twice', async () => {
    const { token, cookie } = await page();
    expect(await post(cookie, '')).toEqual(refused);
    expect(await post(cookie, `csrf=${token}&csrf=${token}`)).toEqual(refused);
  });

  it("refuses another browser's token, and a token sent without the browser's cookie", async () => {
    const mine = await page();
    const theirs = await page();
    expect(theirs.token).not.toBe(mine.token);
    expect(await post(mine.cookie, `csrf=${theirs.token}`)).toEqual(refused);
    expect(await post(undefined, `csrf=${mine.token}`)).toEqual(refused);
  });

  it('refuses a token cut short, lengthened or changed in one character', async () => {
    const { token, cookie } = await page();
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const wrong of [token.slice(0, -1), `${token}A`, flipped, 'x']) {
      expect(await post(cookie, `csrf=${encodeURIComponent(wrong)}`)).toEqual(refused);
    }
  });

  it('lets a wrong X-CSRF-Token header win over a right form field', async () => {
    const { token, cookie } = await page();
    expect(await post(cookie, `csrf=${token}`, { 'x-csrf-token': 'wrong' })).toEqual(refused);
  });

  it("accepts the other profile's token, and refuses one under another deployment's key or the wrong HMAC", async () => {
    const { cookie } = await page();
    const before = await page('/before-the-change', cookie);
    expect(await post(cookie, `csrf=${before.token}`)).toEqual({ status: 204, error: undefined });
    for (const path of ['/elsewhere', '/other-hash']) {
      const { token } = await page(path, cookie);
      expect(await post(cookie, `csrf=${token}`)).toEqual(refused);
    }
  });
});
