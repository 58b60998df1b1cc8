import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import * as jose from 'jose';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { ClientService } from '../clients/client-service.js';
import type { FlowStates } from '../state/flow-state.js';
import { field, parseBody } from '../web/body.js';
import type { Csrf } from '../web/csrf.js';
import type { Views } from '../web/views.js';

export const DEMO_CLIENT_NAME = '演示网站（开发）';
const FLOW_COOKIE = 'demo_rp.flow';
const SESSION_COOKIE = 'demo_rp.session';

/** Registers the demo relying party on first start and returns its credentials. */
export async function ensureDemoClient(clients: ClientService, issuer: string) {
  let existing = await clients.findByName(DEMO_CLIENT_NAME);
  if (!existing) {
    await clients.add({
      name: DEMO_CLIENT_NAME,
      redirectUris: [`${issuer}/dev/rp/callback`],
      postLogoutRedirectUris: [`${issuer}/dev/rp/`],
      backchannelLogoutUri: `${issuer}/dev/rp/backchannel-logout`,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'phone', 'identity', 'enterprise', 'offline_access'],
    });
    existing = await clients.findByName(DEMO_CLIENT_NAME);
  }
  const metadata = await clients.providerMetadata(existing!.client_id);
  return { clientId: existing!.client_id, clientSecret: String(metadata?.['client_secret'] ?? '') };
}

/**
 * The demo relying party at /dev/rp/: a real OIDC client (openid-client) talking to this
 * provider over HTTP, as a government site would. Its state lives in signed cookies.
 */
export function demoRpRoutes(deps: {
  issuer: string;
  clients: ClientService;
  flowStates: FlowStates;
  views: Views;
  csrf: Csrf;
}): Router {
  const router = new Router({ prefix: '/dev/rp' });
  const redirectUri = `${deps.issuer}/dev/rp/callback`;
  let configuration: Promise<oidc.Configuration> | undefined;

  const client = () => {
    configuration ??= ensureDemoClient(deps.clients, deps.issuer)
      .then(({ clientId, clientSecret }) =>
        // Registered for client_secret_basic, the default; openid-client would send client_secret_post.
        oidc.discovery(new URL(deps.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
          execute: deps.issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
        }),
      )
      .catch((err) => {
        configuration = undefined;
        throw err;
      });
    return configuration;
  };

  const cookie = { signed: true, httpOnly: true, sameSite: 'lax' as const, path: '/dev/rp' };
  const page = (ctx: Context, data: Record<string, unknown>) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = deps.views.render('dev-rp', { title: '演示网站', csrf: deps.csrf.token(ctx), ...data });
  };

  router.get('/', async (ctx) => {
    const raw = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (!raw)
      return page(ctx, { signedIn: false, error: ctx.query['error_description'] ?? ctx.query['error'] });
    const session = JSON.parse(Buffer.from(raw, 'base64url').toString()) as {
      claims: oidc.IDToken;
      accessToken: string;
    };
    // Like any site, the demo keeps its sessions' back-channel logouts where every process sees them.
    if (
      session.claims['sid'] &&
      (await deps.flowStates.get('demo-rp-logout', String(session.claims['sid'])))
    ) {
      ctx.cookies.set(SESSION_COOKIE, null, cookie);
      return page(ctx, {
        signedIn: false,
        notice: '您已在统一身份认证平台退出登录（后台通道通知），本网站的登录已结束。',
      });
    }
    let userinfo: unknown;
    try {
      userinfo = await oidc.fetchUserInfo(await client(), session.accessToken, session.claims.sub);
    } catch (err) {
      userinfo = { error: (err as Error).message };
    }
    page(ctx, {
      signedIn: true,
      idTokenClaims: JSON.stringify(session.claims, null, 2),
      userinfo: JSON.stringify(userinfo, null, 2),
    });
  });

  router.get('/login', async (ctx) => {
    const config = await client();
    const state = randomBytes(16).toString('base64url');
    const verifier = oidc.randomPKCECodeVerifier();
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid profile phone enterprise',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    };
    const acr = String(ctx.query['acr_values'] ?? '');
    if (acr) parameters['acr_values'] = acr;
    const scope = String(ctx.query['scope'] ?? '');
    if (/^[a-z_ ]+$/.test(scope)) parameters['scope'] = scope;
    ctx.cookies.set(FLOW_COOKIE, `${state}.${verifier}`, { ...cookie, maxAge: 10 * 60 * 1000 });
    ctx.redirect(oidc.buildAuthorizationUrl(config, parameters).href);
  });

  router.get('/callback', async (ctx) => {
    const [state, verifier] = (ctx.cookies.get(FLOW_COOKIE, { signed: true }) ?? '').split('.');
    ctx.cookies.set(FLOW_COOKIE, null, cookie);
    if (ctx.query['error']) {
      return page(ctx, {
        signedIn: false,
        error: `${ctx.query['error']}: ${ctx.query['error_description'] ?? ''}`,
      });
    }
    if (!state || !verifier) return page(ctx, { signedIn: false, error: '登录流程已过期，请重新登录' });
    const tokens = await oidc.authorizationCodeGrant(
      await client(),
      new URL(ctx.href.replace(/^[^?]+/, redirectUri)),
      {
        pkceCodeVerifier: verifier,
        expectedState: state,
        idTokenExpected: true,
      },
    );
    const session = { claims: tokens.claims(), accessToken: tokens.access_token, idToken: tokens.id_token };
    ctx.cookies.set(SESSION_COOKIE, Buffer.from(JSON.stringify(session)).toString('base64url'), cookie);
    ctx.redirect('/dev/rp/');
  });

  const jwks = jose.createRemoteJWKSet(new URL(`${deps.issuer}/jwks`));
  router.post('/backchannel-logout', parseBody, async (ctx) => {
    const { clientId } = await ensureDemoClient(deps.clients, deps.issuer);
    try {
      const { payload } = await jose.jwtVerify(field(ctx, 'logout_token'), jwks, {
        issuer: deps.issuer,
        audience: clientId,
        typ: 'logout+jwt',
      });
      const events = payload['events'] as Record<string, unknown> | undefined;
      if (
        !events?.['http://schemas.openid.net/event/backchannel-logout'] ||
        typeof payload['sid'] !== 'string'
      ) {
        throw new Error('not a logout token');
      }
      await deps.flowStates.put('demo-rp-logout', String(payload['sid']), { at: Date.now() });
      ctx.status = 200;
      ctx.body = '';
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request' };
    }
  });

  router.post('/logout', parseBody, async (ctx) => {
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const raw = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    ctx.cookies.set(SESSION_COOKIE, null, cookie);
    const idToken = raw
      ? (JSON.parse(Buffer.from(raw, 'base64url').toString()) as { idToken?: string }).idToken
      : undefined;
    const url = oidc.buildEndSessionUrl(await client(), {
      post_logout_redirect_uri: `${deps.issuer}/dev/rp/`,
      ...(idToken ? { id_token_hint: idToken } : {}),
    });
    ctx.redirect(url.href);
  });

  return router;
}
