import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { OperatorRole } from '../access/operator-roles.js';
import { ACR, acrSatisfies } from '../access/scopes.js';
import type { AccountService } from '../accounts/account-service.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { Requester } from '../admin/admin-actions.js';
import type { AdminQueries } from '../admin/admin-queries.js';
import type { OperatorService } from '../admin/operator-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { ClientService } from '../clients/client-service.js';
import type { AlipayLinkService } from '../federation/alipay-link-service.js';
import type { KeyService } from '../oidc/keys/key-service.js';
import type { ModelStore } from '../oidc/model-store.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { ResourceServerService } from '../resources/resource-server-service.js';
import type { FlowStates } from '../state/flow-state.js';
import type { Csrf } from '../web/csrf.js';
import type { Views } from '../web/views.js';

export const CONSOLE_CLIENT = '管理后台';
const SESSION_COOKIE = 'uid.console';

/** Exactly the services the console uses: it administers through the same ones as the API and CLI. */
export interface ConsoleDeps {
  issuer: string;
  consoleClientId: string;
  /** Seconds without a request after which the console session ends (CONSOLE_IDLE_TIMEOUT). */
  idleTimeoutSeconds: number;
  /** The provider's own sites (the console, 用户空间): changed only by a new release, never in the console. */
  builtInClientIds: string[];
  host: ProviderHost;
  views: Views;
  csrf: Csrf;
  flowStates: FlowStates;
  clients: ClientService;
  accounts: AccountService;
  keys: KeyService;
  audit: AuditService;
  operators: OperatorService;
  queries: AdminQueries;
  revoker: SessionRevoker;
  loginGuard: Pick<LoginGuard, 'clear'>;
  realName: Pick<RealNameService, 'correct'>;
  certificates: Pick<CertificateService, 'list'>;
  alipay: Pick<AlipayLinkService, 'linkedAccountOf'>;
  legalPersons: Pick<LegalPersonService, 'profileOf'>;
  models: Pick<ModelStore, 'sessionsOf'>;
  resources: ResourceServerService;
}

export interface ConsoleSession {
  accountId: string;
  /** The provider's SSO session the console sign-in came from: ending that ends this too. */
  sessionUid: string;
  acr: string;
}

export interface Operator extends ConsoleSession {
  role: OperatorRole;
  phoneMasked: string | null;
}

/**
 * The console is a first-party site of its own provider, registered on every start. It asks for
 * the `admin` scope, so the provider demands acr mfa or cert for it, as for the admin API.
 */
export async function ensureConsoleClient(clients: ClientService, issuer: string): Promise<string> {
  const existing = await clients.findByName(CONSOLE_CLIENT);
  if (existing) return existing.client_id;
  const created = await clients.add({
    name: CONSOLE_CLIENT,
    redirectUris: [`${issuer}/console/callback`],
    postLogoutRedirectUris: [`${issuer}/console/signed-out`],
    grantTypes: ['authorization_code'],
    scopes: ['openid', 'admin'],
    // The code is redeemed inside the provider (below); the secret is never handed out, so no
    // one else can redeem a console code at /token.
    authMethod: 'client_secret_basic',
    firstParty: true,
  });
  return created.client_id;
}

/**
 * Sends the browser to /auth for the console, always with prompt=login: every console sign-in
 * (the first, after the console cookie is gone, after idling) asks for the password and the
 * second factor again instead of riding on the 8-hour SSO session. The callback checks that it
 * did (auth_time), since the browser can drop the parameter from the address.
 */
export async function consoleSignInUrl(deps: ConsoleDeps, returnTo: string): Promise<string> {
  const state = randomBytes(16).toString('base64url');
  const verifier = oidc.randomPKCECodeVerifier();
  const begunAt = Math.floor(Date.now() / 1000);
  await deps.flowStates.put('console-login', state, { returnTo, verifier, begunAt });
  const url = new URL(`${deps.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: deps.consoleClientId,
    response_type: 'code',
    scope: 'openid admin',
    redirect_uri: `${deps.issuer}/console/callback`,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'login',
  }).toString();
  return url.href;
}

/**
 * The callback: the code is redeemed here, inside the provider (the same checks as /token:
 * this client, this redirect URI, PKCE, unused, unexpired), so the console needs no call to its
 * own public address. The code carries the account, the acr the sign-in reached and when the
 * person signed in: a code of a sign-in older than this round trip (an SSO session reused
 * because prompt=login was removed) or below acr mfa starts no console session.
 */
export async function redeemConsoleCode(
  deps: ConsoleDeps,
  ctx: Context,
): Promise<{ session: ConsoleSession; returnTo: string } | undefined> {
  const state = String(ctx.query['state'] ?? '');
  const flow = state ? await deps.flowStates.take('console-login', state) : undefined;
  const value = String(ctx.query['code'] ?? '');
  if (!flow || !value) return undefined;
  const code = await deps.host.provider.AuthorizationCode.find(value);
  if (
    !code?.isValid ||
    code.clientId !== deps.consoleClientId ||
    code.redirectUri !== `${deps.issuer}/console/callback` ||
    code.codeChallenge !== createHash('sha256').update(flow.verifier).digest('base64url') ||
    !code.accountId ||
    !code.sessionUid
  )
    return undefined;
  await code.consume();
  const fresh = typeof code.authTime === 'number' && code.authTime >= flow.begunAt;
  if (!fresh || !acrSatisfies(String(code.acr ?? ''), ACR.mfa)) return undefined;
  return {
    session: { accountId: code.accountId, sessionUid: code.sessionUid, acr: String(code.acr ?? '') },
    returnTo: flow.returnTo,
  };
}

const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax' as const, path: '/console' };

export async function startConsoleSession(deps: ConsoleDeps, ctx: Context, session: ConsoleSession) {
  const id = randomBytes(24).toString('base64url');
  await deps.flowStates.put('console-session', id, { ...session }, deps.idleTimeoutSeconds);
  ctx.cookies.set(SESSION_COOKIE, id, { ...cookieOptions, secure: ctx.secure });
}

export async function endConsoleSession(deps: ConsoleDeps, ctx: Context) {
  const id = ctx.cookies.get(SESSION_COOKIE, { signed: true });
  if (id) await deps.flowStates.remove('console-session', id);
  ctx.cookies.set(SESSION_COOKIE, null, cookieOptions);
}

/**
 * The operator of this browser's console session, read afresh on every request: undefined
 * without one, 'idle' after CONSOLE_IDLE_TIMEOUT (15 minutes) without a request (the row in the
 * database has expired, for every process alike; the cookie only names the row), or when the SSO
 * session it came from has ended or the person is no longer an operator.
 */
export async function operatorOf(deps: ConsoleDeps, ctx: Context): Promise<Operator | 'idle' | undefined> {
  const id = ctx.cookies.get(SESSION_COOKIE, { signed: true });
  if (!id) return undefined;
  const session = await deps.flowStates.get('console-session', id);
  if (!session) return 'idle';
  const sso = await deps.host.provider.Session.get(ctx);
  if (sso.uid !== session.sessionUid || sso.accountId !== session.accountId) return undefined;
  if (!acrSatisfies(session.acr, ACR.mfa)) return undefined;
  const [role, account] = await Promise.all([
    deps.operators.roleOf(session.accountId),
    deps.accounts.find(session.accountId),
  ]);
  if (!role || account?.status !== 'active') return undefined;
  // Sliding: each request gives the session another CONSOLE_IDLE_TIMEOUT.
  await deps.flowStates.put('console-session', id, session, deps.idleTimeoutSeconds);
  return { ...session, role, phoneMasked: deps.accounts.view(account).phoneMasked };
}

/** The requester of an admin action taken in the console: the operator, with the form's reason. */
export function requesterOf(ctx: Context, operator: Operator, reason?: string): Requester {
  return {
    actor: `operator:${operator.accountId}`,
    role: operator.role,
    reason,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
  };
}
