import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError, SessionExpired } from '../errors.js';
import { AlipayNotCertified, AlipayNotConfigured, AlipayStateInvalid } from '../federation/alipay-errors.js';
import type { AlipayProfile } from '../federation/alipay-link-service.js';
import { alipayCertifyRoutes, certifyFromAccountSpace, certifyInSignIn } from './alipay-certify-routes.js';
import {
  ALIPAY_CALLBACK_PATH,
  type AlipayFlowDeps,
  beginRoundTrip,
  finishAlipayLogin,
  peekRoundTrip,
  profileFromCallback,
  renderAlipayFailure,
  takeRoundTrip,
} from './alipay-kit.js';
import { alipayOnboardingRoutes } from './alipay-onboarding-routes.js';
import { auditEvent, type Interaction, interactionOf } from './flow-kit.js';

export { alipayCertifyStartPath } from './alipay-certify-routes.js';
export type { AlipayFlowDeps } from './alipay-kit.js';

class AccountUnavailable extends AppError {
  override name = 'AccountUnavailable';
  constructor() {
    super(403, 'account_unavailable', '该账号已被锁定或停用，请联系客服。');
  }
}

/**
 * 支付宝登录 (and 支付宝关联注册), 支付宝认证 inside a sign-in and from 用户空间: the round trip to
 * Alipay's authorisation page and back. Alipay returns to one fixed address; the `state` it
 * carries says which interaction (or account-space session) and which browser the trip belongs to.
 */
export function alipayRoutes(deps: AlipayFlowDeps): Router {
  const router = new Router();

  router.get('/interaction/:uid/alipay', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    if (!deps.alipay.configured) throw new AlipayNotConfigured();
    if (interaction.prompt.name !== 'login') throw new SessionExpired();
    ctx.redirect(await beginRoundTrip(deps, ctx, { purpose: 'login', uid: interaction.uid }));
  });

  // Alipay's redirect_uri. A sign-in continues at its interaction's own address, where the
  // interaction cookie is sent; 支付宝认证 from 用户空间 is finished here.
  router.get(ALIPAY_CALLBACK_PATH, async (ctx) => {
    const trip = await peekRoundTrip(deps, ctx);
    if (!trip) return renderAlipayFailure(ctx, deps, new AlipayStateInvalid());
    if (trip.purpose === 'certify') return certifyFromAccountSpace(ctx, deps, trip);
    ctx.redirect(`/interaction/${encodeURIComponent(trip.uid)}/alipay/return?${ctx.querystring}`);
  });

  router.get('/interaction/:uid/alipay/return', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const back = [{ href: `/interaction/${interaction.uid}`, label: '返回登录' }];
    try {
      const trip = await takeRoundTrip(deps, ctx);
      if (trip.purpose === 'certify' || trip.uid !== interaction.uid) throw new AlipayStateInvalid();
      if (trip.purpose === 'realname') {
        const profile = await profileFromCallback(deps, ctx, 'verification');
        return await certifyInSignIn(ctx, deps, interaction, profile);
      }
      const profile = await profileFromCallback(deps, ctx, 'login');
      return await signInWithAlipay(ctx, deps, interaction, profile);
    } catch (err) {
      if (!(err instanceof AppError) || err.status === 500) throw err;
      return renderAlipayFailure(ctx, deps, err, { links: back });
    }
  });

  alipayOnboardingRoutes(router, deps);
  alipayCertifyRoutes(router, deps);
  return router;
}

/**
 * The branches of issue 6 item 3: a linked Alipay user signs straight in; an unknown certified
 * one either registers (支付宝关联注册) or, when its ID number already has an account, signs in to
 * that account to link it; an uncertified one is told why and offered registration.
 */
async function signInWithAlipay(
  ctx: Context,
  deps: AlipayFlowDeps,
  interaction: Interaction,
  profile: AlipayProfile,
) {
  const uid = interaction.uid;
  const linked = await deps.alipay.accountLinkedTo(profile);
  if (linked) {
    if (linked.status !== 'active') throw new AccountUnavailable();
    return finishAlipayLogin(ctx, deps, interaction, linked.id, { auditMethod: 'alipay', amr: ['alipay'] });
  }
  if (!profile.identity) {
    await auditEvent(deps, ctx, {
      type: 'login',
      method: 'alipay',
      outcome: 'failure',
      detail: { reason: 'alipay_not_certified' },
    });
    return renderAlipayFailure(ctx, deps, new AlipayNotCertified(), {
      links: [
        { href: `/interaction/${uid}/register`, label: '注册统一身份认证账号' },
        { href: `/interaction/${uid}`, label: '使用其他方式登录' },
      ],
    });
  }
  const holder = await deps.alipay.accountHolding(profile);
  if (holder) {
    if (holder.status !== 'active') throw new AccountUnavailable();
    await deps.alipay.assertLinkable(holder, profile);
    await deps.alipay.hold(uid, { mode: 'link', profile, accountId: holder.id });
    return ctx.redirect(`/interaction/${uid}/alipay/link`);
  }
  await deps.alipay.hold(uid, { mode: 'register', profile });
  return ctx.redirect(`/interaction/${uid}/alipay/register`);
}
