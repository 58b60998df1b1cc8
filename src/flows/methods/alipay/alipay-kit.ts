import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { AuditMethod } from '../../../audit/audit-words.js';
import type { AppError } from '../../../errors.js';
import {
  AlipayAuthorizationMissing,
  AlipayCodeSpent,
  AlipayStateInvalid,
} from '../../../federation/alipay-errors.js';
import type { AlipayLinkService, AlipayProfile } from '../../../federation/alipay-link-service.js';
import type { SessionMetaStore } from '../../../oidc/session-meta-store.js';
import { LIMITS } from '../../../ops/rate-limiter.js';
import { AlipayError } from '../../../outside/alipay/client.js';
import type { FlowStateOf } from '../../../state/flow-state.js';
import { browserId } from '../../../web/browser-id.js';
import type { Factor, FactorSpec } from '../../assurance.js';
import { type LoginRecorder, recordLoginFailure } from '../../complete-login.js';
import { auditEvent, type FlowDeps, type PageDeps, renderPage } from '../../flow-kit.js';
import type { Interaction } from '../../interaction.js';
import type { MethodKit, MethodSources } from '../login-method.js';

/** What the Alipay pages use, built by the method from the flows' wiring, services and settings. */
export type AlipayFlowDeps = PageDeps &
  Pick<
    FlowDeps,
    | 'host'
    | 'flowStates'
    | 'accounts'
    | 'audit'
    | 'metrics'
    | 'limiter'
    | 'loginGuard'
    | 'captcha'
    | 'sms'
    | 'realName'
  > &
  Pick<LoginRecorder, 'factors'> & {
    alipay: AlipayLinkService;
    /** Alipay sends the browser back to `${issuer}/alipay/callback`, one fixed address. */
    issuer: string;
    /** 用户空间's idle timeout applies to 支付宝认证 started there. */
    sessionMeta: Pick<SessionMetaStore, 'find'>;
    idleTimeoutSeconds: number;
  };

/** What the Alipay method reads of the application. */
export type AlipaySources = Pick<MethodSources, 'flow' | 'factors'> & {
  services: { alipay: AlipayLinkService; sessionMeta: Pick<SessionMetaStore, 'find'> };
  config: { issuer: string; accountIdleTimeout: number };
};

export function alipayDeps({ flow, factors, services, config }: AlipaySources): AlipayFlowDeps {
  return {
    ...flow,
    factors,
    alipay: services.alipay,
    issuer: config.issuer,
    sessionMeta: services.sessionMeta,
    idleTimeoutSeconds: config.accountIdleTimeout,
  };
}

/** Alipay's assertion of who the person is: another party's word, never towards mfa. */
export const ALIPAY_FACTOR: FactorSpec = { amr: 'alipay', kind: 'outside' };

/** One round trip to Alipay, kept in flow_states under its `state` until Alipay sends the browser back. */
export type AlipayRoundTrip = FlowStateOf<'alipay-state'>;

export const ALIPAY_CALLBACK_PATH = '/alipay/callback';

/** Stores a fresh `state` bound to this browser and the purpose; the Alipay authorisation URL to send it to. */
export async function beginRoundTrip(
  deps: AlipayFlowDeps,
  ctx: Context,
  trip:
    | Omit<Extract<AlipayRoundTrip, { purpose: 'login' | 'realname' }>, 'browser'>
    | Omit<Extract<AlipayRoundTrip, { purpose: 'certify' }>, 'browser'>,
): Promise<string> {
  const state = randomBytes(24).toString('base64url');
  await deps.flowStates.put('alipay-state', state, { ...trip, browser: browserId(ctx) } as AlipayRoundTrip);
  return deps.alipay.authorizeUrl(state, `${deps.issuer}${ALIPAY_CALLBACK_PATH}`);
}

/** The round trip of the callback's `state`, without spending it (the fixed callback only routes). */
export async function peekRoundTrip(
  deps: AlipayFlowDeps,
  ctx: Context,
): Promise<AlipayRoundTrip | undefined> {
  const state = queryString(ctx, 'state');
  return state ? deps.flowStates.get('alipay-state', state) : undefined;
}

/**
 * Spends the callback's `state` (single use) and checks it was issued to this browser; throws
 * AlipayStateInvalid otherwise, before anything is asked of Alipay.
 */
export async function takeRoundTrip(deps: AlipayFlowDeps, ctx: Context): Promise<AlipayRoundTrip> {
  const state = queryString(ctx, 'state');
  const trip = state ? await deps.flowStates.take('alipay-state', state) : undefined;
  if (!trip || trip.browser !== browserId(ctx)) throw new AlipayStateInvalid();
  return trip;
}

/**
 * The profile behind the callback's auth_code. Alipay failures are logged (kind, method and codes
 * only: never personal data) and audited, then thrown on for the page to show.
 */
export async function profileFromCallback(
  deps: AlipayFlowDeps,
  ctx: Context,
  auditType: 'login' | 'verification',
): Promise<AlipayProfile> {
  const authCode = queryString(ctx, 'auth_code');
  if (!authCode) throw new AlipayAuthorizationMissing();
  await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
  try {
    return await deps.alipay.fetchProfile(authCode);
  } catch (err) {
    if (!(err instanceof AlipayError)) throw err;
    ctx.state.log?.warn(
      {
        alipay: { kind: err.kind, method: err.method, code: err.alipayCode, subCode: err.subCode },
      },
      err.kind === 'signature' ? 'Alipay answer refused: signature' : 'Alipay call failed',
    );
    const detail = { reason: err.code, ...(err.subCode ? { subCode: err.subCode } : {}) };
    if (auditType === 'login') await recordLoginFailure(deps, ctx, { method: 'alipay', detail });
    else await auditEvent(deps, ctx, { type: auditType, method: 'alipay', outcome: 'failure', detail });
    throw err.subCode === 'isv.code-invalid' ? new AlipayCodeSpent({ cause: err }) : err;
  }
}

export interface PageLink {
  href: string;
  label: string;
}

/** Every Alipay failure ends on this page: what happened in Chinese, and where to go from here. */
export function renderAlipayFailure(
  ctx: Context,
  deps: PageDeps,
  err: AppError,
  options: { title?: string; links?: PageLink[] } = {},
) {
  ctx.status = err.status;
  renderPage(ctx, deps, 'alipay-failure', {
    title: options.title ?? '支付宝登录',
    message: err.userMessage,
    links: options.links ?? [],
  });
}

export function queryString(ctx: Context, name: string): string {
  const value = ctx.query[name];
  return typeof value === 'string' ? value.trim().slice(0, 512) : '';
}

/** The Alipay pages of a sign-in: the method's dependencies and the common end of a sign-in. */
export type AlipaySignInDeps = AlipayFlowDeps & Pick<MethodKit, 'finish'>;

/**
 * The end of every successful 支付宝登录: what happened first (a registration or a link) if
 * anything, then the common end of a sign-in with what was proved (Alipay, and a password or SMS
 * code when the person proved one here).
 */
export async function finishAlipayLogin(
  ctx: Context,
  deps: AlipaySignInDeps,
  interaction: Interaction,
  accountId: string,
  how: { before?: 'registration' | 'alipay_link'; method: AuditMethod; verified: Factor[] },
) {
  if (how.before) {
    await auditEvent(deps, ctx, { type: how.before, method: 'alipay', outcome: 'success', accountId });
  }
  await deps.finish(ctx, interaction, { accountId, verified: how.verified, method: how.method });
}
