import type { Context } from 'koa';
import type { AccountService } from '../accounts/account-service.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import { PASSWORD_RULE } from '../accounts/password-policy.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { RepresentativeConfirmations } from '../accounts/representative-confirmation.js';
import type { TotpService } from '../accounts/totp-service.js';
import type { AuditEvent, AuditService } from '../audit/audit-service.js';
import type { ConsentService } from '../oidc/consent-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { Metrics } from '../ops/metrics.js';
import type { RateLimiter } from '../ops/rate-limiter.js';
import type { FlowStates } from '../state/flow-state.js';
import type { CaptchaService } from '../verification/captcha-service.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { Csrf } from '../web/csrf.js';
import { actOnPage, drawPage, type PageData } from '../web/page-kit.js';
import type { Views } from '../web/views.js';
import { answerCodeSent } from './code-sending.js';

/**
 * Everything the interaction flows are built from, wired once in app/app.ts. A router or a
 * login method declares the part it uses (`Pick<FlowDeps, …>`), so its signature says what it
 * touches.
 */
export interface FlowDeps {
  host: ProviderHost;
  views: Views;
  csrf: Csrf;
  accounts: AccountService;
  realName: RealNameService;
  captcha: CaptchaService;
  sms: SmsCodeService;
  flowStates: FlowStates;
  consents: ConsentService;
  limiter: RateLimiter;
  loginGuard: LoginGuard;
  revoker: SessionRevoker;
  metrics: Metrics;
  audit: AuditService;
  totp: TotpService;
  legalPersons: LegalPersonService;
  representativeConfirmations: RepresentativeConfirmations;
  /** The identity verifier is the development one: pages say so. */
  devVerifier: boolean;
  /** Alipay is configured: the login and 实名认证 pages offer 支付宝登录 / 支付宝认证. */
  alipayConfigured: boolean;
}

/** What drawing an interaction page needs. */
export type PageDeps = Pick<FlowDeps, 'views' | 'csrf' | 'devVerifier' | 'alipayConfigured'>;

/** An interaction page, drawn by the page kit with what the sign-in pages share. */
export function renderPage(ctx: Context, deps: PageDeps, view: string, data: PageData) {
  drawPage(ctx, deps, view, {
    captchaUrl: `/captcha?t=${Date.now()}`,
    devVerifier: deps.devVerifier,
    alipayConfigured: deps.alipayConfigured,
    passwordRule: PASSWORD_RULE,
    ...data,
  });
}

/**
 * 获取验证码 answered on a sign-in's page (see answerCodeSent): the code is remembered for this
 * interaction under `sent.target`, and without the page's script `view` is drawn again from `page`.
 */
export function answerPageCodeSent(
  ctx: Context,
  deps: PageDeps & Pick<FlowDeps, 'flowStates'>,
  interaction: { uid: string },
  view: string,
  page: Record<string, unknown>,
  sent: { target: string; notice: string },
) {
  return answerCodeSent(ctx, deps.flowStates, { scope: interaction.uid, ...sent }, (extra) =>
    renderPage(ctx, deps, view, { ...page, ...extra }),
  );
}

/**
 * Runs a form action through the page kit (actOnPage): an error the person can act on (wrong
 * captcha, wrong code, weak password …) shows the same page again with each problem beside its
 * field, with the status the error carries.
 */
export function withPageErrors(
  ctx: Context,
  deps: PageDeps,
  view: string,
  page: PageData | (() => Promise<PageData>),
  action: () => Promise<unknown>,
) {
  return actOnPage(ctx, (data) => renderPage(ctx, deps, view, data), page, action);
}

/** Records a security event (not a sign-in: completeLogin does those) with the request's address and browser. */
export function auditEvent(deps: { audit: AuditService }, ctx: Context, event: AuditEvent): Promise<void> {
  return deps.audit.record({ ip: ctx.ip, userAgent: ctx.get('user-agent'), ...event });
}
