import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlipayFake,
  alipayUser,
  authorizeAtAlipay,
  healthy,
  startAlipayFake,
} from '../../../../test/support/alipay.js';
import { addCitizen, messageOf } from '../../../../test/support/citizen.js';
import { type MethodBench, openMethodBench } from '../../../../test/support/method-bench.js';
import { freePort } from '../../../../test/support/ports.js';
import { type PageResponse, UserAgent } from '../../../../test/support/user-agent.js';
import { cookieKeys } from '../../../crypto/cookie-keys.js';
import { SessionExpired } from '../../../errors.js';
import type { AlipayProfile } from '../../../federation/alipay-link-service.js';
import type { ProviderHost } from '../../../oidc/provider-host.js';
import type { DevAlipayUser } from '../../../outside/alipay/dev-server.js';
import { Csrf } from '../../../web/csrf.js';
import { errorHandler } from '../../../web/error-handler.js';
import { Views } from '../../../web/views.js';
import type { Interaction } from '../../interaction.js';
import { methodKit } from '../../method-form.js';
import type { LoginPage } from '../login-method.js';
import { alipayMethod } from './index.js';

const PASSWORD = 'Zhi-fu-bao#2026';
const SITE = 'alipay-unit-site';

// One invented Alipay user per story, so that the stories do not depend on their order.
const USERS = {
  linked: alipayUser(501, { userName: '陈一' }),
  replayed: alipayUser(502, { userName: '陈二' }),
  unknown: alipayUser(503, { userName: '陈三' }),
  idHeld: alipayUser(504, { userName: '陈四' }),
  uncertified: alipayUser(505, {
    isCertified: false,
    userName: undefined,
    certType: undefined,
    certNo: undefined,
  }),
  forged: alipayUser(506, { userName: '陈六' }),
  badSignature: alipayUser(507, { userName: '陈七' }),
};

/** What Alipay certifies of a user, as the method reads it back from the gateway. */
const profileOf = (user: DevAlipayUser): AlipayProfile => ({
  subject: { kind: 'user_id', id: user.userId },
  identity: { realName: user.userName!, idNumber: user.certNo! },
  mobile: `+86${user.mobile}`,
});

let fake: AlipayFake;
let bench: MethodBench;
let http: Server;
let base: string;
/** The sign-ins in progress, as oidc-provider would keep them: here only their uid and result. */
const interactions = new Map<string, Interaction>();

/**
 * The Alipay method's own routes alone, on a port of their own, built by its own `deps` from the
 * application's services on an embedded database, and talking over HTTP to the fake Alipay,
 * which signs and checks as Alipay does. oidc-provider is not here: the interaction is the one
 * the URL names, and the common end of a sign-in (completeLogin) stores its result on it.
 */
beforeAll(async () => {
  fake = await startAlipayFake(Object.values(USERS));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Alipay sends the browser back to ISSUER's /alipay/callback: this listener.
  bench = await openMethodBench({ env: { ...fake.env, ISSUER: base } });
  const views = new Views({ cache: true, devMode: true });
  const host = {
    provider: {
      async interactionDetails(req: { url?: string }) {
        const uid = /^\/interaction\/([^/?]+)/.exec(req.url ?? '')?.[1];
        const found = uid ? interactions.get(uid) : undefined;
        if (!found) throw new SessionExpired();
        return found;
      },
      // The site the person signs in to, named on the onboarding pages.
      Client: { find: async (id: string) => (id === SITE ? { clientName: '测试网站' } : undefined) },
    },
  } as unknown as ProviderHost;
  const deps = {
    ...bench.depsOf(alipayMethod),
    host,
    views,
    csrf: new Csrf([{ hash: 'sha256', key: randomBytes(32) }]),
  };
  const loginPage: LoginPage = {
    render: () => Promise.reject(new Error('the login page is not drawn by a round trip to Alipay')),
    data: () => Promise.reject(new Error('the login page is not drawn by a round trip to Alipay')),
  };
  const router = new Router();
  alipayMethod.routes!(router, deps, methodKit({ ...deps, loginPage }));
  const app = new Koa({
    keys: cookieKeys(bench.config.cookieKeys, bench.config.cryptoProfile) as unknown as string[],
  });
  app.silent = true;
  app.use(errorHandler(views));
  app.use(router.routes());
  http = createServer(app.callback());
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => http?.close(resolve));
  await fake?.alipay.close();
  await bench?.close();
});
afterEach(() => healthy(fake));

/** A sign-in at its login page, as the provider begins one. */
function beginSignIn(): Interaction {
  const uid = randomBytes(9).toString('base64url');
  const interaction = {
    uid,
    prompt: { name: 'login', details: {}, reasons: [] },
    params: { client_id: SITE },
    exp: Math.floor(Date.now() / 1000) + 600,
    returnTo: `${base}/auth/${uid}`,
    lastSubmission: undefined,
    result: undefined,
    async save() {},
  } as unknown as Interaction;
  interactions.set(uid, interaction);
  return interaction;
}

/** 支付宝登录 on the sign-in's login page, and the person agreeing at Alipay as `user`. */
async function toAlipayAndBack(
  ua: UserAgent,
  interaction: Interaction,
  user: DevAlipayUser,
  atAlipay?: () => void,
) {
  return authorizeAtAlipay(ua, `${base}/interaction/${interaction.uid}/alipay`, user.userId, atAlipay);
}

/** Alipay's redirect followed to the page it ends on, or to the provider's resume (`/auth/…`). */
const arrive = (ua: UserAgent, back: PageResponse) => ua.follow(back, `${base}/auth/`);

const db = () => bench.database.db;
const counts = async () => ({
  accounts: Number((await db()('accounts').count({ n: '*' }))[0]!.n),
  links: Number((await db()('alipay_links').count({ n: '*' }))[0]!.n),
});
const alipayFailures = () =>
  db()('audit_events').where({ type: 'login', method: 'alipay', outcome: 'failure' }).orderBy('id');

describe('支付宝登录 proves who the person is by a round trip to Alipay', () => {
  it('signs a linked Alipay user in as their account, at acr basic with amr alipay', async () => {
    const user = USERS.linked;
    const account = await bench.services.alipay.register(profileOf(user), user.mobile!);
    const interaction = beginSignIn();
    const ua = new UserAgent();
    const page = await arrive(ua, await toAlipayAndBack(ua, interaction, user));
    expect(page.location).toBe(interaction.returnTo);
    expect(interaction.result?.login).toMatchObject({
      accountId: account.id,
      acr: 'urn:unified-id:acr:basic',
      amr: ['alipay'],
    });
    expect(
      await db()('audit_events').where({ account_id: account.id, type: 'login', outcome: 'success' }),
    ).toMatchObject([{ method: 'alipay' }]);
  });

  it('takes an unknown certified user to 支付宝关联注册, and creates nothing before they agree', async () => {
    const before = await counts();
    const interaction = beginSignIn();
    const ua = new UserAgent();
    const page = await arrive(ua, await toAlipayAndBack(ua, interaction, USERS.unknown));
    expect(page.url).toBe(`${base}/interaction/${interaction.uid}/alipay/register`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('支付宝关联注册');
    expect(page.body).toContain('测试网站');
    // Alipay's name and ID number, masked: the page does not show them whole.
    expect(page.body).toContain('陈*');
    expect(page.body).not.toContain(USERS.unknown.certNo!);
    expect(interaction.result).toBeUndefined();
    expect(await counts()).toEqual(before);
    // The held profile is this sign-in's: another one has none to register with.
    const other = beginSignIn();
    const elsewhere = await ua.get(`${base}/interaction/${other.uid}/alipay/register`);
    expect(elsewhere.status).toBe(400);
    expect(messageOf(elsewhere)).toContain('支付宝登录已过期');
  });

  it('asks a user whose ID number has an account to sign in to it (关联已有账号), signing nobody in yet', async () => {
    const user = USERS.idHeld;
    await addCitizen(bench, PASSWORD, { realName: user.userName!, idNumber: user.certNo! });
    const before = await counts();
    const interaction = beginSignIn();
    const ua = new UserAgent();
    const page = await arrive(ua, await toAlipayAndBack(ua, interaction, user));
    expect(page.url).toBe(`${base}/interaction/${interaction.uid}/alipay/link`);
    expect(page.body).toContain('关联已有账号');
    expect(interaction.result).toBeUndefined();
    expect(await counts()).toEqual(before);
  });

  it('refuses an uncertified Alipay user, offers registration, and audits the refusal', async () => {
    const before = await counts();
    const failures = (await alipayFailures()).length;
    const interaction = beginSignIn();
    const ua = new UserAgent();
    const page = await arrive(ua, await toAlipayAndBack(ua, interaction, USERS.uncertified));
    expect(page.status).toBe(403);
    expect(messageOf(page)).toContain('支付宝登录需要已完成实名认证（居民身份证）的支付宝账户');
    expect(page.body).toContain(`href="/interaction/${interaction.uid}/register"`);
    expect(interaction.result).toBeUndefined();
    expect(await counts()).toEqual(before);
    expect((await alipayFailures()).slice(failures)).toMatchObject([
      { account_id: null, detail: { reason: 'alipay_not_certified' } },
    ]);
  });
});

describe('支付宝登录 refuses what did not come from this browser’s own round trip', () => {
  it('a replayed callback, and its spent auth_code under a fresh state', async () => {
    const user = USERS.replayed;
    const account = await bench.services.alipay.register(profileOf(user), user.mobile!);
    const ua = new UserAgent();
    const first = beginSignIn();
    const back = await toAlipayAndBack(ua, first, user);
    expect((await arrive(ua, back)).location).toBe(first.returnTo);
    expect(first.result?.login).toMatchObject({ accountId: account.id });

    // The same callback again: its state was spent by the first arrival.
    const replay = await arrive(ua, await ua.get(back.location!));
    expect(replay.status).toBe(400);
    expect(messageOf(replay)).toContain('支付宝授权已过期或无效');

    // The spent code under a state this browser really began: Alipay refuses the code.
    const second = beginSignIn();
    const toAlipay = await ua.get(`${base}/interaction/${second.uid}/alipay`);
    const state = new URL(toAlipay.location!).searchParams.get('state')!;
    const spentCode = new URL(back.location!).searchParams.get('auth_code')!;
    const page = await arrive(ua, await ua.get(callback({ state, auth_code: spentCode })));
    expect(page.status).toBe(400);
    expect(messageOf(page)).toContain('授权码已使用或已过期');
    expect(second.result).toBeUndefined();
  });

  it('a state forged, of another browser, of another sign-in, or none, before anything is asked of Alipay', async () => {
    const user = USERS.forged;
    const account = await bench.services.alipay.register(profileOf(user), user.mobile!);
    const before = await counts();
    const failures = (await alipayFailures()).length;

    // A state nobody issued, with a fresh code Alipay would honour.
    const ua = new UserAgent();
    const victim = beginSignIn();
    const back = await toAlipayAndBack(ua, victim, user);
    const code = new URL(back.location!).searchParams.get('auth_code')!;
    const forged = await arrive(
      ua,
      await ua.get(callback({ state: randomBytes(24).toString('base64url'), auth_code: code })),
    );
    expect(forged.status).toBe(400);
    expect(messageOf(forged)).toContain('支付宝授权已过期或无效');
    const none = await ua.get(callback({ auth_code: code }));
    expect(none.status).toBe(400);

    // The victim's own callback, opened in the attacker's browser.
    const attacker = new UserAgent();
    const stolen = await arrive(attacker, await attacker.get(back.location!));
    expect(stolen.status).toBe(400);
    expect(messageOf(stolen)).toContain('支付宝授权已过期或无效');

    // A trip begun for one sign-in, brought back to another of the same browser.
    const begun = beginSignIn();
    const other = beginSignIn();
    const trip = await toAlipayAndBack(ua, begun, user);
    const query = new URL(trip.location!).search;
    const crossed = await ua.get(`${base}/interaction/${other.uid}/alipay/return${query}`);
    expect(crossed.status).toBe(400);
    expect(messageOf(crossed)).toContain('支付宝授权已过期或无效');

    for (const interaction of [victim, begun, other]) expect(interaction.result).toBeUndefined();
    expect(await db()('audit_events').where({ account_id: account.id, type: 'login' })).toEqual([]);
    // Refused before the gateway was asked: no Alipay failure was recorded either.
    expect((await alipayFailures()).length).toBe(failures);
    expect(await counts()).toEqual(before);
  });

  it('an answer of Alipay whose signature does not verify, or that is unsigned', async () => {
    const user = USERS.badSignature;
    const account = await bench.services.alipay.register(profileOf(user), user.mobile!);
    for (const fault of ['badSignature', 'unsigned'] as const) {
      const failures = (await alipayFailures()).length;
      const interaction = beginSignIn();
      const ua = new UserAgent();
      const back = await toAlipayAndBack(ua, interaction, user, () => {
        fake.alipay.faults[fault] = true;
      });
      const page = await arrive(ua, back);
      expect(page.status, fault).toBe(502);
      expect(messageOf(page)).toContain('支付宝登录暂不可用');
      expect(page.body).toContain(`href="/interaction/${interaction.uid}"`);
      expect(interaction.result).toBeUndefined();
      expect((await alipayFailures()).slice(failures)).toMatchObject([
        { account_id: null, detail: { reason: 'alipay_signature' } },
      ]);
      healthy(fake);
    }
    // The same user, Alipay healthy again: the refusals were the signature's, not the user's.
    const interaction = beginSignIn();
    const ua = new UserAgent();
    await arrive(ua, await toAlipayAndBack(ua, interaction, user));
    expect(interaction.result?.login).toMatchObject({ accountId: account.id, amr: ['alipay'] });
  });
});

/** Alipay's redirect_uri with these parameters, as a forged link would carry them. */
function callback(params: Record<string, string>): string {
  const url = new URL(`${base}/alipay/callback`);
  url.search = new URLSearchParams({ ...params, scope: 'auth_user' }).toString();
  return url.href;
}
