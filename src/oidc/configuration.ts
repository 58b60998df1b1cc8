import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { type Configuration, type ExternalSigningKey, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_VALUES, MACHINE_SCOPES, SCOPE_CLAIMS, SUPPORTED_SCOPES } from '../access/scopes.js';
import type { Config } from '../config.js';
import { cookieKeys } from '../crypto/cookie-keys.js';
import type { ResourceServerService } from '../resources/resource-server-service.js';
import type { Views } from '../web/views.js';
import type { AccountClaimsSource } from './account-claims.js';
import type { ConsentService } from './consent-service.js';
import { GRANT_CLAIM, introspectionAllowed } from './introspection.js';
import { errorPage, loggedOutPage, logoutPage } from './pages.js';
import { REQUESTABLE_PROMPTS, unifiedIdPolicy } from './policy.js';
import { resourceIndicators, resourceTtl } from './resource-indicators.js';

export interface ProviderDependencies {
  config: Config;
  views: Views;
  adapter: NonNullable<Configuration['adapter']>;
  accounts: AccountClaimsSource;
  consents: ConsentService;
  /** The registered APIs (RFC 8707 `resource`), for JWT or opaque access tokens with an audience. */
  resources: Pick<ResourceServerService, 'providerInfo'>;
  pairwiseSalt: Buffer;
  /** The signing keys, signing through node:crypto (src/oidc/keys/node-signing-key.ts). */
  jwks: { keys: ExternalSigningKey[] };
}

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
const CLIENT_AUTH_SIGNING_ALGS = ['ES256', 'RS256', 'PS256'] as const;

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The one place where oidc-provider's behaviour is switched. Everything here uses the
 * documented hooks; the interaction pages are ours (src/flows), never the dev ones.
 */
export function providerConfiguration(deps: ProviderDependencies): Configuration {
  const { config } = deps;
  return {
    adapter: deps.adapter,
    jwks: deps.jwks,
    cookies: {
      // A keygrip in place of the list (oidc-provider passes it on to `cookies`): HMAC-SM3 under gm.
      keys: cookieKeys(config.cookieKeys, config.cryptoProfile) as unknown as string[],
      names: { session: 'uid.session', interaction: 'uid.interaction', resume: 'uid.resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    scopes: [...SUPPORTED_SCOPES],
    claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
    acrValues: [...ACR_VALUES],
    // Sites read the level and identity claims from the ID token too, not only from userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    // OIDC Core 3.1.2.1 requires redirect_uri at /auth, and RFC 6749 §4.1.3 then at /token: a
    // site with one registered URI may not leave it out (oidc-provider would fill it in).
    allowOmittingSingleRegisteredRedirectUri: false,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      clientAuthSigningAlgValues: [...CLIENT_AUTH_SIGNING_ALGS],
    },
    extraClientMetadata: {
      // resource_server: set only on a registered API's own client (src/resources), never on a site's.
      properties: ['first_party', 'require_level', 'resource_server'],
      // application_type (web | native) is standard metadata; its RFC 8252 rules are checked at
      // registration (src/clients/client-service.ts) and oidc-provider matches a native client's
      // loopback redirect URI on any port (RFC 8252 §7.3).
      validator(_ctx, key, value) {
        if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
          throw new Error('first_party must be a boolean');
        }
        if (key === 'require_level' && value !== undefined && !['L1', 'L2', 'L3'].includes(value as string)) {
          throw new Error('require_level must be L1, L2 or L3');
        }
        if (key === 'resource_server' && value !== undefined && typeof value !== 'string') {
          throw new Error('resource_server must be a string');
        }
      },
    },
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier(_ctx, accountId, client) {
      return createHmac('sha256', deps.pairwiseSalt)
        .update(`${client.sectorIdentifier}|${accountId}`)
        .digest('base64url');
    },
    // RFC 8414 §2: without these, a client must assume client_secret_basic only. Introspection
    // takes every method but none (src/oidc/introspection.ts); revocation takes a public client's
    // own tokens too (RFC 7009 §2.1).
    discovery: {
      claim_types_supported: ['normal'],
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((m) => m !== 'none'),
      introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_AUTH_SIGNING_ALGS],
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_AUTH_SIGNING_ALGS],
      // OIDC Core 3.1.2.1 (named in OpenID Connect Prompt Create §4.1): none and the requestable
      // prompts of the policy (src/oidc/policy.ts).
      prompt_values_supported: ['none', ...REQUESTABLE_PROMPTS],
    },
    features: {
      // The keys sign through node:crypto in one synchronous call (NodeSigningKey).
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A site may introspect only the tokens issued to it; a registered API every token whose
        // audience it is (RFC 7662 §4: the server decides who may see what). Public clients are
        // refused before this (src/oidc/introspection.ts).
        allowedPolicy: introspectionAllowed,
      },
      revocation: {
        enabled: true,
        // Another site's token is revoked by nobody and answered like an unknown one (200, RFC
        // 7009 §2.2): oidc-provider's default answered 400 for some token types, which told the
        // caller that the token exists.
        async allowedPolicy(_ctx, client, token) {
          return token.clientId === client.clientId;
        },
      },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      resourceIndicators: resourceIndicators(deps.resources),
      dPoP: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => logoutPage(deps.views, ctx, form),
        postLogoutSuccessSource: (ctx) => loggedOutPage(deps.views, ctx),
      },
    },
    interactions: {
      policy: unifiedIdPolicy(async (accountId) => (await deps.accounts.level(accountId)) ?? undefined),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      return deps.accounts.findAccount(ctx as unknown as Context, sub);
    },
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      return deps.consents.loadExistingGrant(ctx);
    },
    async extraTokenClaims(ctx, token) {
      // A client-credentials token stands for no person: the scopes that release a person's
      // claims or sessions (openid, profile, offline_access, …) mean nothing in it and are
      // refused. This is the one hook oidc-provider calls with the token before it is stored.
      if (token.kind === 'ClientCredentials') {
        const granted = new Set((token.scope ?? '').split(' ').filter(Boolean));
        // As the client sent it: without `resource`, oidc-provider has already cut params.scope
        // down to its own scopes by now.
        const requested = String((ctx.oidc.body as Record<string, unknown> | undefined)?.['scope'] ?? '')
          .split(' ')
          .filter(Boolean);
        // An API's own scopes (RFC 8707 resource servers) are a machine's too: only ours name a person.
        const personal = requested.filter(
          (s) => (SUPPORTED_SCOPES as readonly string[]).includes(s) && !MACHINE_SCOPES.has(s),
        );
        if (personal.length)
          throw new errors.InvalidScope('scope is not allowed with client_credentials', personal.join(' '));
        // Without `resource`, an API's scope would be dropped in silence and the token carry no
        // scope at all (RFC 6749 §5.1 lets a server narrow the scope only if it says so):
        // refused, naming the way to ask for it (RFC 8707 §2).
        const ungranted = requested.filter((s) => !granted.has(s));
        if (!token.resourceServer && ungranted.length)
          throw new errors.InvalidScope(
            'scope not available without resource: name the API it belongs to with the resource parameter (RFC 8707)',
            ungranted.join(' '),
          );
        return undefined;
      }
      if (token.kind !== 'AccessToken') return undefined;
      // A person's token says when and how the person signed in (RFC 9068 §2.2.1), so that an
      // API can ask for a step-up (RFC 9470); the admin API reads acr from here too. The values
      // are those of the code or refresh token the token came from.
      const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
      if (!source) return undefined;
      const claims: Record<string, unknown> = {};
      if (source.authTime !== undefined) claims['auth_time'] = source.authTime;
      if (source.acr) claims['acr'] = source.acr;
      if (source.amr?.length) claims['amr'] = source.amr;
      return claims;
    },
    formats: {
      customizers: {
        // A JWT is never stored: it names its grant, so introspection can answer from the grant
        // (src/oidc/introspection.ts). Client-credentials tokens have none.
        jwt(_ctx, token, parts) {
          if ('grantId' in token && token.grantId) parts.payload[GRANT_CLAIM] = token.grantId;
        },
      },
    },
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Every refresh rotates; a reused refresh token revokes the whole grant (oidc-provider does that on reuse).
    rotateRefreshToken: () => true,
    renderError: (ctx, out, error) => errorPage(deps.views, ctx, out, error),
    // oidc-provider refuses loopback and private addresses (SSRF protection); sites on the
    // province's private network need them, so an operator can allow it explicitly.
    fetch: config.allowPrivateNetworkCallbacks
      ? (url, options) => {
          const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown };
          return globalThis.fetch(url, rest);
        }
      : (url, options) => globalThis.fetch(url, options),
    ttl: {
      AccessToken: resourceTtl(HOUR),
      AuthorizationCode: MINUTE,
      ClientCredentials: resourceTtl(10 * MINUTE),
      IdToken: HOUR,
      Interaction: HOUR,
      Session: config.ssoSessionTtl,
      Grant: 30 * DAY,
      RefreshToken: 14 * DAY,
      PushedAuthorizationRequest: MINUTE,
    },
  };
}
