import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { acrSatisfies } from '../access/scopes.js';
import type { ClientService } from '../clients/client-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { FlowStates } from '../state/flow-state.js';
import { browserId } from '../web/browser-id.js';
import type { FirstPartySession, FirstPartySite } from './first-party-site.js';
import type { OwnEndpoints } from './own-endpoints.js';

export interface SignInDeps {
  issuer: string;
  host: ProviderHost;
  flowStates: FlowStates;
  clients: Pick<ClientService, 'providerMetadata'>;
  /** The provider's endpoints as this process reaches them. */
  endpoints: OwnEndpoints;
  log: Logger;
}

// Stryker disable next-line StringLiteral: a missing state looked up as any other text finds no round trip either
const NO_STATE = '';

/** Why a callback opened no session: for the log only, the browser is told nothing more. */
type Refusal =
  | 'no_round_trip'
  | 'other_browser'
  | 'not_redeemed'
  | 'not_fresh'
  | 'acr_too_low'
  | 'other_sso_session';

/**
 * The sign-in of a site of the provider itself, done as any relying party does it (OpenID
 * Connect Core 3.1, RFC 7636): an authorization request with state, nonce and an S256 PKCE
 * challenge; on the way back the code is redeemed at /token with the verifier (and the client's
 * secret, for a confidential one), and the ID token's issuer, audience, nonce and expiry are
 * checked. Its signature is not: the token comes straight from /token of this very process over
 * the loopback, the direct channel OIDC Core 3.1.3.7 (6) lets stand in for it. Only then does the
 * site look at who signed in. A code of another site, one already used, one whose state or
 * verifier is not this browser's round trip, opens nothing.
 */
export class FirstPartySignIn {
  #serverMetadata: Promise<oidc.ServerMetadata> | undefined;

  constructor(
    private readonly deps: SignInDeps,
    private readonly site: FirstPartySite,
  ) {}

  get redirectUri(): string {
    return `${this.deps.issuer}${this.site.path}/callback`;
  }

  /** The authorization request; the round trip is kept sealed in the database under its state. */
  async begin(ctx: Context, returnTo: string, fresh: boolean): Promise<string> {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    await this.deps.flowStates.put(this.site.loginKind, state, {
      returnTo,
      verifier,
      nonce,
      begunAt: Math.floor(Date.now() / 1000),
      fresh,
      browser: browserId(ctx),
    });
    const url = new URL(`${this.deps.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: this.site.clientId,
      response_type: 'code',
      scope: this.site.scope,
      redirect_uri: this.redirectUri,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      // OIDC Core 5.5: when the person signed in, and the SSO session's id for this site (OIDC
      // Back-Channel Logout 2.4), which the callback matches against this browser's session.
      claims: JSON.stringify({ id_token: { auth_time: { essential: true }, sid: null } }),
      ...(fresh ? { prompt: 'login' } : {}),
    }).toString();
    return url.href;
  }

  /**
   * The callback: the session the redeemed code proves, and the page to return to; 'cancelled'
   * for an error answer, undefined when it proves none (the round trip is used up either way). A fresh sign-in's code must
   * carry an auth_time not older than the round trip (a browser can drop prompt=login from the
   * address, and the provider then answers from the SSO session), and the acr the site demands.
   */
  async finish(
    ctx: Context,
  ): Promise<{ session: FirstPartySession; returnTo: string } | 'cancelled' | undefined> {
    // Taken (used up) whatever follows. A repeated state is looked up as `a,b` and a missing one
    // as NO_STATE: no round trip has such a key (states are random base64url).
    const state = String(ctx.query['state'] ?? NO_STATE);
    const flow = await this.deps.flowStates.take(this.site.loginKind, state);
    // The person cancelled, or the provider refused (access_denied, login_required…).
    if (ctx.query['error']) return 'cancelled';
    const refuse = (reason: Refusal, err?: unknown) => {
      this.deps.log.warn(
        { site: this.site.name, reason, ...(err ? { err: describe(err) } : {}) },
        'first-party sign-in refused',
      );
      return undefined;
    };
    if (!flow) return refuse('no_round_trip');
    if (flow.browser !== browserId(ctx)) return refuse('other_browser');

    let claims: oidc.IDToken;
    try {
      const config = await this.configuration(ctx.ip);
      const tokens = await oidc.authorizationCodeGrant(config, this.callbackUrl(ctx), {
        pkceCodeVerifier: flow.verifier,
        expectedState: state,
        // An expected nonce makes openid-client require an ID token (OIDC Core 3.1.3.3).
        expectedNonce: flow.nonce,
      });
      // An answer without an ID token was refused above (the nonce).
      claims = tokens.claims()!;
      // The site needs the ID token only; the access token (for the console, one with the admin
      // scope) is not left to live out its hour unused.
      await oidc.tokenRevocation(config, tokens.access_token).catch((err: unknown) => {
        // The messages only, as for a refusal: the error's request and response stay out of the log.
        this.deps.log.warn(
          { site: this.site.name, err: describe(err) },
          'first-party access token not revoked',
        );
      });
    } catch (err) {
      return refuse('not_redeemed', err);
    }
    const acr = typeof claims['acr'] === 'string' ? claims['acr'] : '';
    // openid-client lets only a number through as auth_time; a token without one is not fresh.
    if (flow.fresh && !((claims.auth_time ?? 0) >= flow.begunAt)) return refuse('not_fresh');
    if (this.site.minimumAcr && !acrSatisfies(acr, this.site.minimumAcr)) return refuse('acr_too_low');

    // The code was issued to this browser's own SSO session: its sid for this site is the ID
    // token's, and so is the account. The site's session follows that SSO session from now on.
    const sso = await this.deps.host.provider.Session.get(ctx);
    if (
      !sso.uid ||
      sso.accountId !== claims.sub ||
      !claims['sid'] ||
      sso.sidFor(this.site.clientId) !== claims['sid']
    )
      return refuse('other_sso_session');
    return { session: { accountId: claims.sub, sessionUid: sso.uid, acr }, returnTo: flow.returnTo };
  }

  /** The callback's address as registered: the query as received, whatever the proxy's scheme. */
  private callbackUrl(ctx: Context): URL {
    const url = new URL(this.redirectUri);
    url.search = ctx.querystring;
    return url;
  }

  /**
   * The client as registered now (its secret read on each sign-in, so a new one takes effect at
   * once), against the provider's metadata, discovered once.
   */
  private async configuration(browserAddress: string): Promise<oidc.Configuration> {
    const fetch = this.deps.endpoints.fetchFor(browserAddress);
    this.#serverMetadata ??= oidc
      .discovery(new URL(this.deps.issuer), this.site.clientId, undefined, oidc.None(), {
        [oidc.customFetch]: fetch,
        // Stryker disable next-line StringLiteral: only lets the discovery itself use http, and it goes to the issuer's own address (https when this is false); the discovery's configuration is kept for its metadata only
        execute: this.deps.issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
      })
      .then((config) => this.deps.endpoints.published(config.serverMetadata()))
      .catch((err: unknown) => {
        this.#serverMetadata = undefined;
        throw err;
      });
    const metadata = await this.deps.clients.providerMetadata(this.site.clientId);
    if (!metadata) throw new Error(`${this.site.name}: its client is not registered`);
    // A registration's metadata has its secret as a string, or none (ClientService.loadMetadata).
    const { client_secret: secret } = metadata as { client_secret?: string };
    const config = new oidc.Configuration(
      await this.#serverMetadata,
      this.site.clientId,
      secret,
      // As registered (the provider refuses any other method): basic with a secret, else none.
      secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
    );
    config[oidc.customFetch] = fetch;
    if (this.deps.issuer.startsWith('http:')) oidc.allowInsecureRequests(config);
    return config;
  }
}

/**
 * openid-client wraps what went wrong: the message of each error down the cause chain, and the
 * provider's error code where it answered one (RFC 6749 5.2: `invalid_grant` for a code used,
 * of another client or with another verifier).
 */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error && parts.length < 4; e = e.cause) {
    const { code, error } = e as { code?: unknown; error?: unknown };
    const message = typeof error === 'string' ? `${e.message} (${error})` : e.message;
    parts.push(typeof code === 'string' ? `${code}: ${message}` : message);
  }
  return parts.join(' ← ');
}
