import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { Context, Middleware, Next } from 'koa';
import type { Client, KoaContextWithOIDC } from 'oidc-provider';
import { formParams } from './request-guards.js';

/**
 * The claim of a JWT access token that names the grant it was issued from, so that introspection
 * can answer from the grant (revoked, or ended with its session) although the JWT itself is never
 * stored. A grant id opens nothing by itself: no endpoint takes one.
 */
export const GRANT_CLAIM = 'grant_id';

/** The audiences of a token, whether oidc-provider kept one or several. */
function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** A registered API's own client carries its identifier (src/resources/resource-server-service.ts). */
function apiOf(client: Client): string | undefined {
  const api = client['resource_server'];
  return typeof api === 'string' ? api : undefined;
}

/**
 * Who may learn about a token (RFC 7662 §2.2, §4): the site it was issued to, and a registered
 * API when the token's audience is that API. Everyone else is told `active: false`.
 */
export function mayIntrospect(caller: Client, token: { clientId?: string | undefined; aud?: unknown }) {
  if (caller.clientAuthMethod === 'none') return false;
  if (token.clientId === caller.clientId) return true;
  const api = apiOf(caller);
  return !!api && audiences(token.aud).includes(api);
}

/** oidc-provider's `features.introspection.allowedPolicy`, for stored (opaque) tokens. */
export async function introspectionAllowed(_ctx: KoaContextWithOIDC, client: Client, token: unknown) {
  return mayIntrospect(client, token as { clientId?: string; aud?: unknown });
}

const INTROSPECTION_PATH = '/token/introspection';
/** Stands in for a JWT in the form oidc-provider reads: no stored token has this id. */
const PLACEHOLDER = 'jwt-access-token-answered-by-unified-id';

/** The public half of a private JWK: what /jwks publishes. */
function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/**
 * Whether jose would read a protected header from the token (as oidc-provider's refusal of
 * structured tokens does). Opaque tokens, the common case, are told apart first without jose:
 * its decoder throws for them, an Error with a stack on every introspection. A header is a JSON
 * object, so its first part decodes to `{` (after JSON's whitespace or a byte-order mark);
 * anything that does is left to jose to judge, as before.
 */
function isJwt(token: string): boolean {
  const dot = token.indexOf('.');
  const head = Buffer.from(dot < 0 ? token : token.slice(0, dot), 'base64url').toString('utf8');
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (!text.startsWith('{')) return false;
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/**
 * Introspection of JWT access tokens (RFC 9068) and the refusal of public clients, as middleware
 * of the provider (provider.use): oidc-provider refuses any JWT at its introspection endpoint
 * with 400 unsupported_token_type, which tells a resource server nothing (RFC 7662 §2.2 answers
 * 200 with `active`). The JWT is set aside before oidc-provider reads the form, so that
 * oidc-provider still authenticates the caller by its registered method; the answer is then
 * made here from the JWT's signature, lifetime and grant, for the same callers as an opaque
 * token's (`mayIntrospect`).
 */
export function introspectionExtras(options: {
  issuer: string;
  keys: Record<string, unknown>[];
}): Middleware {
  const keySet = createLocalJWKSet({ keys: options.keys.map(publicJwk) } as JSONWebKeySet);
  const setAside = new WeakMap<Context, string>();

  // Every other request of the provider passes by without an async layer of its own (a promise
  // more, and the promise hooks' work on it, per request).
  return (ctx, next) =>
    ctx.method === 'POST' && ctx.path === INTROSPECTION_PATH ? introspect(ctx, next) : next();

  async function introspect(ctx: Context, next: Next) {
    const form = await formParams(ctx);
    const tokens = form?.getAll('token') ?? [];
    if (form && tokens.length === 1 && isJwt(tokens[0]!)) {
      setAside.set(ctx, tokens[0]!);
      // A copy: the parsed form is shared with the guards in front (formParams).
      const rewritten = new URLSearchParams(form);
      rewritten.set('token', PLACEHOLDER);
      (ctx.req as typeof ctx.req & { body?: unknown }).body = rewritten.toString();
    }
    await next();

    const { oidc } = ctx as unknown as Partial<KoaContextWithOIDC>;
    if (oidc?.route !== 'introspection' || ctx.status !== 200 || !oidc.client) return;
    // RFC 7662 §2.1: the caller authenticates; a public client has nothing to authenticate with.
    if (oidc.client.clientAuthMethod === 'none') {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: 'a public client can not introspect tokens' };
      return;
    }
    const jwt = setAside.get(ctx);
    if (jwt) ctx.body = await answerFor(oidc as KoaContextWithOIDC['oidc'], jwt);
  }

  async function answerFor(oidc: KoaContextWithOIDC['oidc'], jwt: string): Promise<Record<string, unknown>> {
    const inactive = { active: false };
    let payload: JWTPayload;
    try {
      // Signature, issuer, type and lifetime, as an API checks them (RFC 9068 §4).
      ({ payload } = await jwtVerify(jwt, keySet, {
        issuer: options.issuer,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      }));
    } catch {
      return inactive;
    }
    const clientId = payload['client_id'];
    if (typeof clientId !== 'string') return inactive;
    if (!mayIntrospect(oidc.client!, { clientId, aud: payload.aud })) return inactive;
    // The site must still be registered and enabled, as for its stored tokens.
    if (!(await oidc.provider.Client.find(clientId))) return inactive;
    const grantId = payload[GRANT_CLAIM];
    if (typeof grantId === 'string') {
      // Revoked (取消授权, a refresh token used twice, an account's sessions ended) or ended with
      // a logout that did not keep offline_access: the grant is gone, and the token with it.
      const grant = await oidc.provider.Grant.find(grantId);
      if (!grant || grant.clientId !== clientId) return inactive;
    } else if (payload.sub !== clientId) {
      // A person's token without its grant can not be checked: not answered as active.
      return inactive;
    }
    const { [GRANT_CLAIM]: _grant, ...claims } = payload;
    return { ...claims, active: true, token_type: 'Bearer' };
  }
}
