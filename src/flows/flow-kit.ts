import type { Context } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.js';
import type { LegalPersonService } from '../accounts/legal-person-service.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import { PASSWORD_RULE } from '../accounts/password-policy.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { TotpService } from '../accounts/totp-service.js';
import type { AuditEvent, AuditService } from '../audit/audit-service.js';
import { SessionExpired, shownOnForm } from '../errors.js';
import type { Csrf } from '../http/csrf.js';
import { jsonError, wantsJson } from '../http/json-answer.js';
import type { Views } from '../http/views.js';
import type { ConsentService } from '../oidc/consent-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { Metrics } from '../ops/metrics.js';
import type { RateLimiter } from '../ops/rate-limiter.js';
import type { CaptchaService } from '../verification/captcha-service.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { FlowStateStore } from './flow-state-store.js';

/** What the interaction flows (login, registration, recovery, 实名认证, step-up, consent) use. */
export interface FlowDeps {
  host: ProviderHost;
  views: Views;
  csrf: Csrf;
  accounts: AccountService;
  realName: RealNameService;
  captcha: CaptchaService;
  sms: SmsCodeService;
  flowStates: FlowStateStore;
  consents: ConsentService;
  limiter: RateLimiter;
  loginGuard: LoginGuard;
  revoker: SessionRevoker;
  metrics: Metrics;
  audit: AuditService;
  totp: TotpService;
  legalPersons: LegalPersonService;
  /** The identity verifier is the development one: pages say so. */
  devVerifier: boolean;
  /** Alipay is configured: the login and 实名认证 pages offer 支付宝登录 / 支付宝认证. */
  alipayConfigured: boolean;
}

export type Interaction = Awaited<ReturnType<ProviderHost['provider']['interactionDetails']>>;

/** The browser's current sign-in, which must be the one in the URL, or a clear "expired" page. */
export async function interactionOf(deps: FlowDeps, ctx: Context): Promise<Interaction> {
  try {
    const interaction = await deps.host.provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.params['uid'] && interaction.uid !== ctx.params['uid']) throw new SessionExpired();
    return interaction;
  } catch (err) {
    if (err instanceof oidcErrors.SessionNotFound) throw new SessionExpired();
    throw err;
  }
}

export async function clientNameOf(deps: FlowDeps, interaction: Interaction): Promise<string> {
  const client = await deps.host.provider.Client.find(String(interaction.params['client_id']));
  return client?.clientName ?? '';
}

export function renderPage(ctx: Context, deps: FlowDeps, view: string, data: Record<string, unknown>) {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = deps.views.render(view, {
    csrf: deps.csrf.token(ctx),
    captchaUrl: `/captcha?t=${Date.now()}`,
    devVerifier: deps.devVerifier,
    alipayConfigured: deps.alipayConfigured,
    passwordRule: PASSWORD_RULE,
    ...data,
  });
}

/**
 * Runs a form action; an AppError it throws (wrong captcha, wrong code, weak password …) shows
 * the same page again with the message, with the status the error carries.
 */
export async function withPageErrors(
  ctx: Context,
  deps: FlowDeps,
  view: string,
  page: Record<string, unknown>,
  action: () => Promise<unknown>,
) {
  try {
    return await action();
  } catch (err) {
    if (!shownOnForm(err)) throw err;
    if (wantsJson(ctx)) return jsonError(ctx, err);
    ctx.status = err.status;
    renderPage(ctx, deps, view, { ...page, error: err.userMessage });
  }
}

/**
 * What oidc-provider's interactionResult does, on the interaction this request has already
 * loaded (interactionResult would look it up again): stores the result, returns where the
 * browser continues.
 */
export async function saveResult(
  interaction: Interaction,
  result: Interaction['result'],
  { mergeWithLastSubmission = false } = {},
): Promise<string> {
  interaction.result =
    mergeWithLastSubmission && result && !('error' in result)
      ? { ...interaction.lastSubmission, ...result }
      : result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

/** interactionFinished on the loaded interaction: the result, then 303 to where it continues. */
export async function finishInteraction(
  ctx: Context,
  interaction: Interaction,
  result: Interaction['result'],
  options: { mergeWithLastSubmission?: boolean } = {},
) {
  ctx.redirect(await saveResult(interaction, result, options));
  ctx.status = 303;
}

/** The person is signed in: the login result with its acr and amr. */
export function finishLogin(
  ctx: Context,
  interaction: Interaction,
  accountId: string,
  acr: string,
  amr: string[],
) {
  return finishInteraction(ctx, interaction, { login: { accountId, acr, amr, remember: true } });
}

/** Records a security event with the request's address and browser. */
export function auditEvent(deps: { audit: AuditService }, ctx: Context, event: AuditEvent): Promise<void> {
  return deps.audit.record({ ip: ctx.ip, userAgent: ctx.get('user-agent'), ...event });
}
