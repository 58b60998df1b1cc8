import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account-service.js';
import type { AccountRow } from '../accounts/account-store.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { PhoneChangeService } from '../accounts/phone-change-service.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { TotpService } from '../accounts/totp-service.js';
import type { AuditEvent, AuditService } from '../audit/audit-service.js';
import type { MethodWords } from '../audit/audit-words.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { ClientService } from '../clients/client-service.js';
import type { AlipayLinkService } from '../federation/alipay-link-service.js';
import type { FirstPartySite } from '../first-party/first-party-site.js';
import type { OwnEndpoints } from '../first-party/own-endpoints.js';
import { SessionGuard } from '../first-party/session-guard.js';
import { FirstPartySignIn } from '../first-party/sign-in.js';
import type { ConsentService } from '../oidc/consent-service.js';
import type { ModelStore } from '../oidc/model-store.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionMetaStore } from '../oidc/session-meta-store.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import { idleInAccountSpace, ssoSessionOf } from '../oidc/sso-session.js';
import type { FlowStates } from '../state/flow-state.js';
import type { CaptchaService } from '../verification/captcha-service.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { Csrf } from '../web/csrf.js';
import type { Views } from '../web/views.js';

export const ACCOUNT_SPACE_CLIENT = '用户空间';
const SESSION_COOKIE = 'uid.account';

export interface AccountSpaceDeps {
  issuer: string;
  idleTimeoutSeconds: number;
  host: ProviderHost;
  views: Views;
  csrf: Csrf;
  accounts: AccountService;
  realName: RealNameService;
  totp: TotpService;
  sms: SmsCodeService;
  captcha: CaptchaService;
  audit: AuditService;
  /** The audit log's method words of the sign-in methods this server was built with. */
  methodWords: MethodWords;
  clients: ClientService;
  consents: ConsentService;
  models: ModelStore;
  revoker: SessionRevoker;
  sessionMeta: SessionMetaStore;
  flowStates: FlowStates;
  accountSpaceClientId: string;
  certificates: CertificateService;
  bridgeUrl: string;
  alipay: AlipayLinkService;
  legalPersons: LegalPersonService;
  phoneChanges: PhoneChangeService;
  /** The provider's endpoints as this process reaches them. */
  endpoints: OwnEndpoints;
  logger: Logger;
}

/** What every account-space page uses: drawing it, and auditing what the person did there. */
export type AccountPageDeps = Pick<AccountSpaceDeps, 'views' | 'csrf' | 'accounts' | 'audit'>;

export interface AccountSession {
  account: AccountRow;
  sessionUid: string;
  /** Where this account's SMS codes go (a legal person's is its representative's phone). */
  smsPhone: string;
}

/** The account space is a first-party site of the provider itself, registered on every start. */
export async function ensureAccountSpaceClient(clients: ClientService, issuer: string): Promise<string> {
  const existing = await clients.findByName(ACCOUNT_SPACE_CLIENT);
  if (existing) return existing.client_id;
  const created = await clients.add({
    name: ACCOUNT_SPACE_CLIENT,
    redirectUris: [`${issuer}/account/callback`],
    postLogoutRedirectUris: [`${issuer}/account`],
    grantTypes: ['authorization_code'],
    scopes: ['openid'],
    authMethod: 'none',
    firstParty: true,
  });
  return created.client_id;
}

/**
 * 用户空间's sign-in and session (src/first-party/): a code redeemed at /token like any site's,
 * then a session of its own that ends after ACCOUNT_IDLE_TIMEOUT without a request. Signing in
 * again after idling (or with the SSO session idle here) is a fresh login: the password again.
 */
export function accountSpaceGuard(deps: AccountSpaceDeps): SessionGuard<AccountSession> {
  const site: FirstPartySite = {
    name: ACCOUNT_SPACE_CLIENT,
    clientId: deps.accountSpaceClientId,
    path: '/account',
    scope: 'openid',
    loginKind: 'account-login',
    sessionKind: 'account-session',
    cookie: SESSION_COOKIE,
    idleTimeoutSeconds: deps.idleTimeoutSeconds,
    freshSignIn: async (ctx) => (await ssoSessionOf(deps, ctx)) === 'idle',
    home: '/account',
    refusedPath: '/account/signed-out',
  };
  const signIn = new FirstPartySignIn({ ...deps, log: deps.logger }, site);
  return new SessionGuard(deps, site, signIn, {
    admit: async (_ctx, session) => {
      // Idle here is measured on the SSO session too, so a new 用户空间 cookie does not reset it.
      if (await idleInAccountSpace(deps, session.sessionUid)) return 'idle';
      const account = await deps.accounts.find(session.accountId);
      if (account?.status !== 'active') return undefined;
      // 登录设备 shows when each SSO session was last active here; the idle check reads it.
      await deps.sessionMeta.touch(session.sessionUid);
      return {
        account,
        sessionUid: session.sessionUid,
        smsPhone: (await deps.accounts.smsPhoneOf(account)) ?? '',
      };
    },
    remember: (ctx, session) => {
      ctx.state.accountSession = session;
    },
  });
}

export function accountAudit(
  deps: Pick<AccountSpaceDeps, 'audit'>,
  ctx: Context,
  session: AccountSession,
  event: AuditEvent,
) {
  return deps.audit.record({
    accountId: session.account.id,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
    ...event,
  });
}
