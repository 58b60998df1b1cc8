import type { Context } from 'koa';
import { ACR } from '../access/scopes.js';
import type { AccountRow } from '../accounts/account-store.js';
import type { AuditService } from '../audit/audit-service.js';
import type { AuditMethod } from '../audit/audit-words.js';
import { AccountUnavailable } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { FlowStates } from '../state/flow-state.js';
import { acrBelow, type Factor, type FactorSpec, type FactorTable } from './assurance.js';
import type { Interaction } from './interaction.js';
import { saveResult } from './interaction.js';

/** What completeLogin needs, and nothing more. */
export interface LoginRecorder {
  accounts: { find(id: string): Promise<AccountRow | undefined> };
  audit: Pick<AuditService, 'record'>;
  metrics: Pick<Metrics, 'logins'>;
  flowStates: FlowStates;
  /** The factors the registered methods declare: what acr and amr a sign-in earns. */
  factors: FactorTable;
}

/** A successful first (or further) factor, as the server verified it. */
export interface VerifiedSignIn {
  accountId: string;
  /**
   * The account row when the method read it in this same request, after checking its status
   * (a password check does): spares a second read. Any other method's account is read here.
   */
  account?: AccountRow;
  verified: Factor[];
  /** The method's name in the audit log and the login metric (`password`, `sms`, `alipay+sms` …). */
  method: AuditMethod;
  /** A step-up of an existing session rather than a first sign-in: audited as `step_up`. */
  stepUp?: boolean;
  detail?: Record<string, unknown>;
}

/**
 * 两步验证's factor (a TOTP or recovery code): asked by completeLogin itself, after whichever
 * method, so declared here rather than by a method.
 */
export const SECOND_FACTOR: FactorSpec = { amr: 'otp', kind: 'second' };

/** The second-factor page of a sign-in. */
export const secondFactorPath = (uid: string) => `/interaction/${uid}/totp`;

/**
 * The one door every successful sign-in goes through, whichever method proved it: the account
 * read again and refused when locked or closed; 两步验证 asked for when the account has it and
 * the factors so far are below a certificate; acr and amr from the verified factors; the audit
 * row and the login metric; the result handed to oidc-provider, whose policy then applies the
 * site's acr_values and required level (a step-up, never a silent downgrade).
 * Returns where the browser goes next.
 */
export async function completeLogin(
  deps: LoginRecorder,
  ctx: Context,
  interaction: Interaction,
  signIn: VerifiedSignIn,
): Promise<string> {
  const account =
    signIn.account?.id === signIn.accountId ? signIn.account : await deps.accounts.find(signIn.accountId);
  if (account?.status !== 'active') {
    await recordLoginFailure(deps, ctx, {
      method: signIn.method,
      accountId: signIn.accountId,
      reason: `account_${account?.status ?? 'missing'}`,
    });
    throw new AccountUnavailable();
  }
  const { acr, amr } = deps.factors.assuranceOf(signIn.verified);
  if (account.totp_enabled_at && acrBelow(acr, ACR.cert) && !signIn.verified.includes(SECOND_FACTOR.amr)) {
    await deps.flowStates.put('totp', interaction.uid, {
      accountId: account.id,
      verified: signIn.verified,
      method: signIn.method,
      stepUp: signIn.stepUp ?? false,
    });
    return secondFactorPath(interaction.uid);
  }
  const label = signIn.stepUp ? `step_up_${signIn.method}` : signIn.method;
  deps.metrics.logins.inc({ method: metricLabel(label), outcome: 'success' });
  await deps.audit.record({
    type: signIn.stepUp ? 'step_up' : 'login',
    method: signIn.method,
    outcome: 'success',
    accountId: account.id,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
    ...(signIn.detail ? { detail: signIn.detail } : {}),
  });
  // A sign-in is also the person's choice of account when the site asked for one (prompt=select_account).
  const chosen = interaction.prompt.name === 'select_account' ? { select_account: {} } : {};
  return saveResult(interaction, { login: { accountId: account.id, acr, amr, remember: true }, ...chosen });
}

/** A failed attempt of a method: the audit row and the metric, in the same words as a success. */
export async function recordLoginFailure(
  deps: Pick<LoginRecorder, 'audit' | 'metrics'>,
  ctx: Context,
  failure: {
    method: AuditMethod;
    accountId?: string | undefined;
    reason?: string;
    detail?: Record<string, unknown>;
  },
) {
  deps.metrics.logins.inc({ method: metricLabel(failure.method), outcome: 'failure' });
  const detail = { ...(failure.reason ? { reason: failure.reason } : {}), ...failure.detail };
  await deps.audit.record({
    type: 'login',
    method: failure.method,
    outcome: 'failure',
    accountId: failure.accountId,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
    ...(Object.keys(detail).length ? { detail } : {}),
  });
}

/**
 * Prometheus label values stay simple words: `password+otp` counts as `password_otp`. A method's
 * parts are lower-case words joined by single `+` (AuditMethod), so each non-word character
 * stands alone.
 */
function metricLabel(method: string): string {
  return method.replace(/\W/g, '_');
}

/** Sends the browser on with a 303, as a form post's answer. */
export function continueTo(ctx: Context, redirectTo: string) {
  ctx.redirect(redirectTo);
  ctx.status = 303;
}
