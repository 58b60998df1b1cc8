import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { AccountService } from '../accounts/account-service.js';
import type { AccountRow } from '../accounts/account-store.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { PhoneChangeService } from '../accounts/phone-change-service.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { TotpService } from '../accounts/totp-service.js';
import type { AuditEvent, AuditService } from '../audit/audit-service.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { ClientService } from '../clients/client-service.js';
import type { AlipayLinkService } from '../federation/alipay-link-service.js';
import type { ConsentService } from '../oidc/consent-service.js';
import type { ModelStore } from '../oidc/model-store.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionMetaStore } from '../oidc/session-meta-store.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import { ssoSessionOf } from '../oidc/sso-session.js';
import type { FlowStates } from '../state/flow-state.js';
import type { CaptchaService } from '../verification/captcha-service.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { Csrf } from '../web/csrf.js';
import type { Views } from '../web/views.js';

export const ACCOUNT_SPACE_CLIENT = '用户空间';

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

/** The signed-in person of the account space (see ssoSessionOf), with the account row. */
export async function accountSessionOf(
  deps: AccountSpaceDeps,
  ctx: Context,
): Promise<AccountSession | 'idle' | undefined> {
  const session = await ssoSessionOf(deps, ctx);
  if (session === 'idle' || !session) return session;
  const account = await deps.accounts.find(session.accountId);
  if (account?.status !== 'active') return undefined;
  await deps.sessionMeta.touch(session.sessionUid);
  return {
    account,
    sessionUid: session.sessionUid,
    smsPhone: (await deps.accounts.smsPhoneOf(account)) ?? '',
  };
}

/** Sends the browser through the provider's sign-in and back to `returnTo`. */
export async function signInUrl(
  deps: AccountSpaceDeps,
  returnTo: string,
  forceLogin: boolean,
): Promise<string> {
  const state = randomBytes(16).toString('base64url');
  await deps.flowStates.put('account-login', state, { returnTo });
  const url = new URL(`${deps.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: deps.accountSpaceClientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${deps.issuer}/account/callback`,
    state,
    // The code is not redeemed: the account space reads the SSO session itself. PKCE is still required.
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...(forceLogin ? { prompt: 'login' } : {}),
  }).toString();
  return url.href;
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
