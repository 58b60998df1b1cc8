import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { OperatorRole } from '../access/operator-roles.js';
import { ACR } from '../access/scopes.js';
import type { AccountService } from '../accounts/account-service.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { Requester } from '../admin/admin-actions.js';
import type { AdminQueries } from '../admin/admin-queries.js';
import type { OperatorService } from '../admin/operator-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { MethodWords } from '../audit/audit-words.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { ClientService } from '../clients/client-service.js';
import { AppError } from '../errors.js';
import type { AlipayLinkService } from '../federation/alipay-link-service.js';
import type { FirstPartySession, FirstPartySite } from '../first-party/first-party-site.js';
import type { OwnEndpoints } from '../first-party/own-endpoints.js';
import { SessionGuard } from '../first-party/session-guard.js';
import { FirstPartySignIn } from '../first-party/sign-in.js';
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
  /** The audit log's method words of the sign-in methods this server was built with. */
  methodWords: MethodWords;
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
  /** The provider's endpoints as this process reaches them. */
  endpoints: OwnEndpoints;
  logger: Logger;
}

export interface Operator extends FirstPartySession {
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
    // The console redeems its codes at /token with this secret, read from the registration;
    // it is never handed out, so no one else can redeem a console code.
    authMethod: 'client_secret_basic',
    firstParty: true,
  });
  return created.client_id;
}

/**
 * 管理后台's sign-in and session (src/first-party/). Every console sign-in is a fresh one: it
 * always sends prompt=login, so the password and the second factor are asked again whenever the
 * console has no session of its own (the first, after the console cookie is gone, after idling)
 * instead of riding on the 8-hour SSO session; its callback checks that it was (auth_time: the
 * browser can drop the parameter from the address) and that the acr is mfa at least. The
 * session ends after CONSOLE_IDLE_TIMEOUT (15 minutes) without a request, in the database, for
 * every process alike; the person must still be an active operator at every request.
 */
export function consoleGuard(deps: ConsoleDeps): SessionGuard<Operator> {
  const site: FirstPartySite = {
    name: CONSOLE_CLIENT,
    clientId: deps.consoleClientId,
    path: '/console',
    scope: 'openid admin',
    loginKind: 'console-login',
    sessionKind: 'console-session',
    cookie: SESSION_COOKIE,
    idleTimeoutSeconds: deps.idleTimeoutSeconds,
    minimumAcr: ACR.mfa,
    freshSignIn: async () => true,
    home: '/console/',
    // A fresh sign-in again: the login page, never a silent round trip.
    refusedPath: '/console/',
  };
  const signIn = new FirstPartySignIn({ ...deps, log: deps.logger }, site);
  return new SessionGuard(deps, site, signIn, {
    admit: async (_ctx, session) => {
      const [role, account] = await Promise.all([
        deps.operators.roleOf(session.accountId),
        deps.accounts.find(session.accountId),
      ]);
      if (!role || account?.status !== 'active') return undefined;
      return { ...session, role, phoneMasked: deps.accounts.view(account).phoneMasked };
    },
    signingIn: async (session) => {
      if (!(await deps.operators.roleOf(session.accountId))) throw new NotAnOperator();
      await deps.operators.signedIn(session.accountId);
    },
    remember: (ctx, operator) => {
      ctx.state.consoleOperator = operator;
    },
  });
}

class NotAnOperator extends AppError {
  override name = 'NotAnOperator';
  constructor() {
    super(403, 'not_an_operator', '您的账号不是管理后台的操作员，请联系安全管理员');
  }
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
