import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { ClientInput } from '../../src/clients/client-service.js';
import type { TestServer } from './server.js';
import { formAction, hiddenField, type PageResponse, type UserAgent } from './user-agent.js';

export const REDIRECT_URI = 'https://rp.example.gov.cn/callback';

export interface RelyingParty {
  clientId: string;
  redirectUri: string;
  clientSecret: string | undefined;
  config: oidc.Configuration;
}

/** Registers a site the way an operator would (the client service behind the CLI) and discovers the provider. */
export async function registerRelyingParty(
  server: TestServer,
  input: Partial<ClientInput> = {},
  metadata: Partial<oidc.ClientMetadata> = {},
): Promise<RelyingParty> {
  const created = await server.services.clients.add({
    name: `测试网站 ${randomBytes(3).toString('hex')}`,
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: ['https://rp.example.gov.cn/logged-out'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    scopes: ['openid', 'profile', 'phone', 'offline_access'],
    ...input,
  });
  // The site authenticates as it is registered (the provider refuses any other method);
  // openid-client would send client_secret_post for any client with a secret.
  const secret = created.client_secret;
  const auth = !secret
    ? oidc.None()
    : input.authMethod === 'client_secret_post'
      ? oidc.ClientSecretPost(secret)
      : oidc.ClientSecretBasic(secret);
  const config = await oidc.discovery(
    new URL(server.issuer),
    created.client_id,
    { ...(secret ? { client_secret: secret } : {}), ...metadata },
    auth,
    { execute: [oidc.allowInsecureRequests] },
  );
  return {
    clientId: created.client_id,
    redirectUri: input.redirectUris?.[0] ?? REDIRECT_URI,
    clientSecret: created.client_secret,
    config,
  };
}

/**
 * The HTTP Basic `authorization` header a confidential client sends to /token, both parts
 * form-encoded first (RFC 6749 §2.3.1).
 */
export function basicAuth(client: { clientId: string; clientSecret: string | undefined }): string {
  if (client.clientSecret === undefined) throw new Error(`client ${client.clientId} has no secret`);
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(client.clientSecret)}`).toString('base64')}`;
}

export interface AuthorizationOutcome {
  /** The final response: a redirect to the relying party, or a page the flow stopped at. */
  response: PageResponse;
  callbackUrl?: URL;
  verifier: string;
  state: string;
  pagesSeen: string[];
}

/**
 * Sends the browser to /auth and walks the provider's pages: fills the login form with the
 * given credentials and agrees (or not) on the consent page, until the provider redirects back.
 */
export async function authorize(
  ua: UserAgent,
  rp: RelyingParty,
  options: {
    login?: { login: string; password: string };
    consent?: 'allow' | 'deny';
    params?: Record<string, string>;
  } = {},
): Promise<AuthorizationOutcome> {
  const { page, verifier, state } = await beginAuthorization(ua, rp, options.params);
  let res = page;
  const pagesSeen: string[] = [];
  for (let step = 0; step < 6 && !res.location?.startsWith(rp.redirectUri); step++) {
    if (res.body.includes('action="/interaction/') && res.body.includes('/login"') && options.login) {
      if (pagesSeen.includes('login')) break; // shown again: the login failed
      pagesSeen.push('login');
      res = await ua.post(formAction(res.body, '/login', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        ...options.login,
      });
    } else if (res.body.includes('授权确认') && options.consent) {
      pagesSeen.push('consent');
      res = await ua.post(formAction(res.body, '/confirm', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        decision: options.consent,
      });
    } else {
      break;
    }
    res = await ua.follow(res, rp.redirectUri);
  }
  const callbackUrl = res.location?.startsWith(rp.redirectUri) ? new URL(res.location) : undefined;
  return { response: res, callbackUrl, verifier, state, pagesSeen };
}

/** The whole sign-in: authorize, then redeem the code with PKCE and validate the ID token. */
export async function signIn(ua: UserAgent, rp: RelyingParty, options: Parameters<typeof authorize>[2] = {}) {
  const outcome = await authorize(ua, rp, { consent: 'allow', ...options });
  if (!outcome.callbackUrl)
    throw new Error(
      `sign-in did not return to the site: ${outcome.response.status} ${outcome.response.body.slice(0, 300)}`,
    );
  const tokens = await oidc.authorizationCodeGrant(rp.config, outcome.callbackUrl, {
    pkceCodeVerifier: outcome.verifier,
    expectedState: outcome.state,
    idTokenExpected: true,
  });
  return { tokens, outcome };
}

export function randomPhone(): string {
  return `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

/** Sends the browser to /auth and returns the first page the provider shows, for flows a test walks by hand. */
export async function beginAuthorization(
  ua: UserAgent,
  rp: RelyingParty,
  params: Record<string, string> = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile phone',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  const page = await ua.follow(await ua.get(url), rp.redirectUri);
  return { page, verifier, state };
}

/** The provider's login page in a sign-in at a site of its own, for tests of the page rather than of a site. */
export async function loginPage(server: TestServer, ua: UserAgent): Promise<PageResponse> {
  const rp = await registerRelyingParty(server, { firstParty: true });
  return (await beginAuthorization(ua, rp, { scope: 'openid' })).page;
}

/** The uid of the interaction (one sign-in at the provider) whose page this is, from the page's address. */
export function interactionUid(page: PageResponse): string {
  const uid = /\/interaction\/([\w-]+)/.exec(page.url)?.[1];
  if (!uid) throw new Error(`not a page of an interaction: ${page.url}`);
  return uid;
}

/** Follows the browser back to the site (agreeing to consent if asked) and redeems the code. */
export async function completeAuthorization(
  ua: UserAgent,
  rp: RelyingParty,
  start: { verifier: string; state: string },
  response: PageResponse,
) {
  let res = await ua.follow(response, rp.redirectUri);
  if (!res.location?.startsWith(rp.redirectUri) && res.body.includes('授权确认')) {
    res = await ua.follow(
      await ua.post(formAction(res.body, '/confirm', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        decision: 'allow',
      }),
      rp.redirectUri,
    );
  }
  if (!res.location?.startsWith(rp.redirectUri)) {
    throw new Error(`did not return to the site: ${res.status} ${res.url} ${res.body.slice(0, 400)}`);
  }
  const callback = new URL(res.location);
  if (callback.searchParams.get('error')) return { error: callback.searchParams, tokens: undefined };
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
  });
  return { tokens, error: undefined };
}
