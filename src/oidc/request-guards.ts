import { decodeJwt } from 'jose';
import type { Context, Middleware, Next } from 'koa';
import type { ClientService } from '../clients/client-service.js';
import { AppError, BadInput } from '../errors.js';
import type { Views } from '../web/views.js';
import type { ModelStore } from './model-store.js';
import { errorPage } from './pages.js';

/**
 * What the server checks in front of oidc-provider, where oidc-provider has no hook of its own:
 * POST at the authorization and logout endpoints, the rate of /token, the owner of a pushed
 * request, and the registered client authentication method. Each reads what it needs and passes
 * everything else on.
 */

/** oidc-provider's own limit for a form body. */
const FORM_LIMIT = 56 * 1024;

/** Each request's parsed form, with the body it was parsed from. */
const parsedForms = new WeakMap<object, { body: string; params: URLSearchParams }>();

/**
 * The form body of a request, read and parsed once: the bytes stay on req.body as a string, where
 * oidc-provider reads them again (its documented fallback for an upstream parser), and the parsed
 * form is shared by every guard that asks for it (on /token the rate limit and the registered
 * authentication method). Shared, so it is read only: a guard that changes the form changes a
 * copy and puts the copy's string on req.body, which the next call parses afresh.
 */
export async function formParams(ctx: Context): Promise<URLSearchParams | undefined> {
  const req = ctx.req as typeof ctx.req & { body?: unknown };
  if (typeof req.body !== 'string') {
    if (!ctx.is('application/x-www-form-urlencoded') || !req.readable) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > FORM_LIMIT) ctx.throw(413);
      chunks.push(chunk as Buffer);
    }
    req.body = Buffer.concat(chunks).toString();
  }
  const body = req.body as string;
  const parsed = parsedForms.get(req);
  if (parsed?.body === body) return parsed.params;
  const params = new URLSearchParams(body);
  parsedForms.set(req, { body, params });
  return params;
}

/** The client_id of an HTTP Basic authorization header (RFC 6749 §2.3.1), if it has one. */
export function basicAuthClientId(header: string): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString();
  const id = decoded.slice(0, Math.max(0, decoded.indexOf(':')));
  try {
    return decodeURIComponent(id.replaceAll('+', '%20')).slice(0, 100) || undefined;
  } catch {
    return undefined;
  }
}

/** A POSTed request's parameters travel in the URL of a GET: more than this is refused. */
const POST_AS_GET_LIMIT = 8 * 1024;

/**
 * OIDC Core 3.1.2.1 and RP-Initiated Logout 1.0 §2: the authorization and logout endpoints
 * accept POST as well as GET. A form POSTed there is answered 303 See Other to the same endpoint
 * with its parameters in the query, which oidc-provider then serves as it serves any GET.
 *
 * Why not serve the POST itself: a site's form POST is a cross-site request, and the provider's
 * cookies are SameSite=Lax, so the browser sends no session cookie with it: the person would have
 * to sign in again, and prompt=none would answer login_required. The GET that follows the 303 is
 * a top-level navigation, which carries Lax cookies, so the SSO session is seen. (oidc-provider's
 * own enableHttpPostMethods demands SameSite=None session cookies for this reason: every
 * cross-site request, a forged one too, would then carry the session.)
 */
export function acceptPostAsGet(): Middleware {
  const endpoints = new Set(['/auth', '/session/end']);
  // Not async where it passes a request on: an async layer would add its own promise (and the
  // promise hooks' work on it) to every request of the provider.
  return (ctx, next) => (ctx.method === 'POST' && endpoints.has(ctx.path) ? redirect(ctx) : next());
  async function redirect(ctx: Context) {
    const form = await formParams(ctx);
    if (!form) throw new BadInput('请求格式不正确');
    const query = new URLSearchParams(form).toString();
    if (query.length > POST_AS_GET_LIMIT) throw new AppError(413, 'payload_too_large', '提交的内容过大');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(query ? `${ctx.path}?${query}` : ctx.path);
  }
}

const PUSHED_REQUEST_URN = 'urn:ietf:params:oauth:request_uri:';

/**
 * RFC 9126 §4: a request_uri from /request may be used only by the client that pushed it. Used
 * with another client_id, oidc-provider refuses it but sends the refusal to that other client's
 * redirect URI; the browser is shown an error page instead, as for any request whose client and
 * redirect URI can not be trusted together.
 */
export function pushedRequestOwner(models: ModelStore, views: Views): Middleware {
  return (ctx, next) => (ctx.method === 'GET' && ctx.path === '/auth' ? check(ctx, next) : next());
  async function check(ctx: Context, next: Next) {
    const requestUri = ctx.query['request_uri'];
    const clientId = ctx.query['client_id'];
    if (typeof requestUri !== 'string' || !requestUri.startsWith(PUSHED_REQUEST_URN)) return next();
    if (typeof clientId !== 'string') return next(); // oidc-provider refuses a request without one
    const pushed = await models.find('PushedAuthorizationRequest', {
      id: requestUri.slice(PUSHED_REQUEST_URN.length),
    });
    const request = pushed?.['request'];
    if (typeof request !== 'string') return next(); // unknown or expired: oidc-provider says so
    let pushedBy: unknown;
    try {
      pushedBy = decodeJwt(request).iss;
    } catch {
      pushedBy = undefined;
    }
    if (pushedBy === clientId) return next();
    ctx.status = 400;
    await errorPage(views, ctx, {
      error: 'invalid_request_uri',
      error_description: 'request_uri was pushed by another client',
    });
  }
}

/**
 * Throttles /token per client before oidc-provider authenticates it (client_id from Basic auth or
 * the body). The count is per client *and address*: anyone can name a client without its secret,
 * and a count per client alone would let a stranger use up a site's allowance (or 用户空间's, whose
 * sign-ins redeem their codes from this host) and lock its sign-ins out.
 */
export function tokenRateLimit(
  limiter: { consume(subject: string): Promise<void> },
  /** The address a request counts for: the browser's when a site of the provider redeems for it. */
  addressOf: (ctx: Context) => string = (ctx) => ctx.ip,
): Middleware {
  return (ctx, next) => (ctx.path === '/token' && ctx.method === 'POST' ? count(ctx, next) : next());
  async function count(ctx: Context, next: Next) {
    const clientId =
      basicAuthClientId(ctx.get('authorization')) ?? (await formParams(ctx))?.get('client_id')?.slice(0, 100);
    const address = addressOf(ctx);
    await limiter.consume(clientId ? `${clientId}@${address}` : `ip:${address}`);
    return next();
  }
}

const CLIENT_AUTHENTICATED = new Set(['/token', '/token/introspection', '/token/revocation', '/request']);

/**
 * A client authenticates by the method it is registered for (token_endpoint_auth_method, OIDC
 * Registration §2): oidc-provider takes client_secret_basic and client_secret_post for each
 * other. A secret sent the other way is refused like a wrong one: 401 invalid_client, with the
 * Basic challenge when it came in the Authorization header (RFC 6749 §5.2).
 */
export function registeredAuthMethod(clients: ClientService, issuer: string): Middleware {
  return (ctx, next) =>
    ctx.method === 'POST' && CLIENT_AUTHENTICATED.has(ctx.path) ? check(ctx, next) : next();
  async function check(ctx: Context, next: Next) {
    const header = ctx.get('authorization');
    let clientId: string | undefined;
    let used: 'client_secret_basic' | 'client_secret_post' | undefined;
    if (/^basic\s/i.test(header)) {
      clientId = basicAuthClientId(header);
      used = 'client_secret_basic';
    } else {
      const form = await formParams(ctx);
      if (form?.has('client_secret')) {
        clientId = form.get('client_id') ?? undefined;
        used = 'client_secret_post';
      }
    }
    if (!clientId || !used) return next();
    const metadata = await clients.providerMetadata(clientId);
    if (!metadata || (metadata['token_endpoint_auth_method'] ?? 'client_secret_basic') === used)
      return next();
    ctx.status = 401;
    ctx.set('Cache-Control', 'no-store');
    if (used === 'client_secret_basic') {
      ctx.set(
        'WWW-Authenticate',
        `Basic realm="${issuer}", error="invalid_client", error_description="client authentication failed"`,
      );
    }
    ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
  }
}
