import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../errors.js';
import { AlipayNotConfigured, AlipayStateInvalid } from '../federation/alipay-errors.js';
import {
  ALIPAY_CALLBACK_PATH,
  type AlipayRoundTrip,
  beginRoundTrip,
  peekRoundTrip,
  profileFromCallback,
  queryString,
  renderAlipayFailure,
  takeRoundTrip,
} from '../flows/alipay-round-trip.js';
import { auditEvent } from '../flows/flow-kit.js';
import { ssoSessionOf } from '../oidc/sso-session.js';
import type { Metrics } from '../ops/metrics.js';
import type { RateLimiter } from '../ops/rate-limiter.js';
import { drawPage, onFormError } from '../web/page-kit.js';
import { returnPath } from '../web/return-path.js';
import type { AccountSpaceDeps } from './account-context.js';

export const ALIPAY_CERTIFY_START_PATH = '/alipay/certify/start';

/** What 支付宝认证 from 用户空间 uses: 用户空间's wiring, and the limit and metric of the callback. */
export type AlipayCertifyDeps = Pick<
  AccountSpaceDeps,
  | 'issuer'
  | 'idleTimeoutSeconds'
  | 'host'
  | 'views'
  | 'csrf'
  | 'audit'
  | 'sessionMeta'
  | 'flowStates'
  | 'alipay'
> & { limiter: RateLimiter; metrics: Metrics };

/**
 * The link for 用户空间 → 认证等级 → 支付宝认证 (show it only when `AlipayLinkService.configured`):
 * `GET /alipay/certify/start?return=/account/level`. For the person signed in to the account space
 * it goes to Alipay and back, makes the account real-name (L2) from Alipay's certified name and
 * ID number (or checks they are the account's own), links the Alipay user when neither is linked,
 * shows the outcome and offers 继续 back to `returnTo`. Without a signed-in (or with an idle)
 * session it goes straight to `returnTo`, where the account space signs the person in again.
 * `returnTo` must be a path under /account; anything else becomes /account/level.
 */
export function alipayCertifyStartPath(returnTo = '/account/level'): string {
  return `${ALIPAY_CERTIFY_START_PATH}?${new URLSearchParams({ return: returnTo })}`;
}

const safeReturnTo = (value: string) => returnPath(value, { within: '/account', fallback: '/account/level' });

/** The account-space session: the provider's SSO session, unless it has been idle there too long. */
async function activeSession(deps: AlipayCertifyDeps, ctx: Context) {
  const session = await ssoSessionOf(deps, ctx);
  return session === 'idle' ? undefined : session;
}

/**
 * 支付宝认证 from 用户空间: not a sign-in, so not a sign-in method's, though it shares Alipay's one
 * redirect_uri with 支付宝登录. At that address each answers only its own trips and passes the
 * rest on: this router its `certify` trips, the Alipay method (src/flows/methods/alipay/) a
 * sign-in's trips and a `state` that names none.
 */
export function alipayCertifyRoutes(deps: AlipayCertifyDeps): Router {
  const router = new Router();

  router.get(ALIPAY_CERTIFY_START_PATH, async (ctx) => {
    const returnTo = safeReturnTo(queryString(ctx, 'return'));
    if (!deps.alipay.configured) throw new AlipayNotConfigured();
    const session = await activeSession(deps, ctx);
    if (!session) return ctx.redirect(returnTo);
    ctx.redirect(await beginRoundTrip(deps, ctx, { purpose: 'certify', ...session, returnTo }));
  });

  router.get(ALIPAY_CALLBACK_PATH, async (ctx, next) => {
    const trip = await peekRoundTrip(deps, ctx);
    if (trip?.purpose !== 'certify') return next();
    return certifyFromAccountSpace(ctx, deps, trip);
  });

  return router;
}

/** Back from Alipay for 用户空间's 支付宝认证 (at the fixed callback: no interaction here). */
async function certifyFromAccountSpace(
  ctx: Context,
  deps: AlipayCertifyDeps,
  peeked: Extract<AlipayRoundTrip, { purpose: 'certify' }>,
) {
  const back = [{ href: peeked.returnTo, label: '返回用户空间' }];
  await onFormError(
    ctx,
    async () => {
      const trip = await takeRoundTrip(deps, ctx);
      const session = await activeSession(deps, ctx);
      if (
        trip.purpose !== 'certify' ||
        session?.accountId !== trip.accountId ||
        session.sessionUid !== trip.sessionUid
      ) {
        throw new AlipayStateInvalid();
      }
      const profile = await profileFromCallback(deps, ctx, 'verification');
      let outcome: Awaited<ReturnType<typeof deps.alipay.certify>>;
      try {
        outcome = await deps.alipay.certify(trip.accountId, profile);
      } catch (err) {
        if (err instanceof AppError && err.status < 500) {
          await auditEvent(deps, ctx, {
            type: 'verification',
            method: 'alipay',
            outcome: 'failure',
            accountId: trip.accountId,
            detail: { reason: err.code },
          });
        }
        throw err;
      }
      await auditEvent(deps, ctx, {
        type: 'verification',
        method: 'alipay',
        outcome: 'success',
        accountId: trip.accountId,
        detail: outcome,
      });
      drawPage(ctx, deps, 'notice', {
        title: '支付宝认证',
        message: outcome.verifiedNow
          ? '支付宝认证成功：您的账号已完成实名认证，认证等级为 L2（实名）。各网站在您下次登录时获得新的认证等级。'
          : outcome.linkedNow
            ? '支付宝认证成功：支付宝账户的实名信息与您的账号一致，已关联该支付宝账户，今后可使用支付宝登录。'
            : '支付宝认证成功：支付宝账户的实名信息与您的账号一致。',
        continueUrl: trip.returnTo,
      });
    },
    (err) => renderAlipayFailure(ctx, deps, err, { title: '支付宝认证', links: back }),
  );
}
