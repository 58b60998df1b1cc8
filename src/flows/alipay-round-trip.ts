import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { AppError } from '../errors.js';
import {
  AlipayAuthorizationMissing,
  AlipayCodeSpent,
  AlipayStateInvalid,
} from '../federation/alipay-errors.js';
import type { AlipayLinkService, AlipayProfile } from '../federation/alipay-link-service.js';
import { LIMITS } from '../ops/rate-limiter.js';
import { AlipayError } from '../outside/alipay/client.js';
import type { FlowStateOf, FlowStates } from '../state/flow-state.js';
import { browserId } from '../web/browser-id.js';
import type { Csrf } from '../web/csrf.js';
import { drawPage } from '../web/page-kit.js';
import type { Views } from '../web/views.js';
import { recordLoginFailure } from './complete-login.js';
import { auditEvent, type FlowDeps } from './flow-kit.js';

/**
 * One round trip to Alipay's authorisation page and back, whoever begins it: 支付宝登录 and
 * 支付宝认证 inside a sign-in (src/flows/methods/alipay/), 支付宝认证 from 用户空间
 * (src/account-space/alipay-certify-routes.ts). Alipay sends every one back to one fixed
 * address; the `state` it carries says whose trip it is and which browser began it.
 */
export type AlipayRoundTrip = FlowStateOf<'alipay-state'>;

export const ALIPAY_CALLBACK_PATH = '/alipay/callback';

interface RoundTripDeps {
  flowStates: FlowStates;
  alipay: Pick<AlipayLinkService, 'authorizeUrl'>;
  /** Alipay sends the browser back to `${issuer}/alipay/callback`, one fixed address. */
  issuer: string;
}

/** Stores a fresh `state` bound to this browser and the purpose; the Alipay authorisation URL to send it to. */
export async function beginRoundTrip(
  deps: RoundTripDeps,
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
  deps: Pick<RoundTripDeps, 'flowStates'>,
  ctx: Context,
): Promise<AlipayRoundTrip | undefined> {
  const state = queryString(ctx, 'state');
  return state ? deps.flowStates.get('alipay-state', state) : undefined;
}

/**
 * Spends the callback's `state` (single use) and checks it was issued to this browser; throws
 * AlipayStateInvalid otherwise, before anything is asked of Alipay.
 */
export async function takeRoundTrip(
  deps: Pick<RoundTripDeps, 'flowStates'>,
  ctx: Context,
): Promise<AlipayRoundTrip> {
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
  deps: Pick<FlowDeps, 'audit' | 'metrics' | 'limiter'> & { alipay: Pick<AlipayLinkService, 'fetchProfile'> },
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
  deps: { views: Views; csrf: Csrf },
  err: AppError,
  options: { title?: string; links?: PageLink[] } = {},
) {
  ctx.status = err.status;
  drawPage(ctx, deps, 'alipay-failure', {
    title: options.title ?? '支付宝登录',
    message: err.userMessage,
    links: options.links ?? [],
  });
}

export function queryString(ctx: Context, name: string): string {
  const value = ctx.query[name];
  return typeof value === 'string' ? value.trim().slice(0, 512) : '';
}
