import type Router from '@koa/router';
import type { Context } from 'koa';
import { AccountUnavailable, SessionExpired } from '../../../errors.js';
import {
  AlipayNotCertified,
  AlipayNotConfigured,
  AlipayStateInvalid,
} from '../../../federation/alipay-errors.js';
import type { AlipayProfile } from '../../../federation/alipay-link-service.js';
import { onFormError } from '../../../web/page-kit.js';
import {
  ALIPAY_CALLBACK_PATH,
  beginRoundTrip,
  peekRoundTrip,
  profileFromCallback,
  renderAlipayFailure,
  takeRoundTrip,
} from '../../alipay-round-trip.js';
import { recordLoginFailure } from '../../complete-login.js';
import { type Interaction, interactionOf } from '../../interaction.js';
import type { LoginMethod } from '../login-method.js';
import { PASSWORD_FACTOR } from '../password/password-attempt.js';
import { SMS_FACTOR } from '../sms/index.js';
import {
  ALIPAY_FACTOR,
  type AlipayFlowDeps,
  type AlipaySignInDeps,
  type AlipaySources,
  alipayDeps,
  finishAlipayLogin,
} from './alipay-kit.js';
import { alipayOnboardingRoutes } from './onboarding-routes.js';
import { ALIPAY_PENDING } from './pending-login.js';
import { alipayRealNameRoutes, certifyInSignIn } from './realname-routes.js';

/**
 * 支付宝登录, with what Alipay does inside a sign-in: 支付宝关联注册 and 关联已有账号
 * (onboarding-routes.ts), 支付宝认证 on a sign-in's 实名认证 page (realname-routes.ts). The round
 * trip is src/flows/alipay-round-trip.ts; 用户空间's Alipay part, not a sign-in, is
 * src/account-space/alipay-certify-routes.ts and alipay-routes.ts. The wire client is src/outside/alipay.
 */
export const alipayMethod: LoginMethod<AlipaySources, AlipayFlowDeps> = {
  id: 'alipay',
  tab: 'natural',
  // Alipay's assertion (how Alipay authenticated the person is not known here), and what its
  // onboarding proves beside it: an SMS code to a phone entered, or the password of an account linked.
  factors: [ALIPAY_FACTOR, SMS_FACTOR, PASSWORD_FACTOR],
  flowStates: [ALIPAY_PENDING],
  deps: alipayDeps,
  link: { label: '支付宝登录', path: 'alipay', style: 'button' },
  offered: (deps) => deps.alipay.configured,
  routes: (router, deps, kit) => alipayRoutes(router, { ...deps, finish: kit.finish }),
};

/**
 * 支付宝登录 (and 支付宝关联注册), 支付宝认证 inside a sign-in: the round trip to Alipay's
 * authorisation page and back. Alipay returns to one fixed address; the `state` it carries says
 * which interaction and which browser the trip belongs to.
 */
function alipayRoutes(router: Router, deps: AlipaySignInDeps) {
  router.get('/interaction/:uid/alipay', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    if (!deps.alipay.configured) throw new AlipayNotConfigured();
    if (interaction.prompt.name !== 'login') throw new SessionExpired();
    ctx.redirect(await beginRoundTrip(deps, ctx, { purpose: 'login', uid: interaction.uid }));
  });

  // Alipay's redirect_uri. A sign-in continues at its interaction's own address, where the
  // interaction cookie is sent. 支付宝认证 from 用户空间 is not a sign-in: its own route at this
  // address (src/account-space/alipay-certify-routes.ts) finishes it.
  router.get(ALIPAY_CALLBACK_PATH, async (ctx, next) => {
    const trip = await peekRoundTrip(deps, ctx);
    if (!trip) return renderAlipayFailure(ctx, deps, new AlipayStateInvalid());
    if (trip.purpose === 'certify') return next();
    ctx.redirect(`/interaction/${encodeURIComponent(trip.uid)}/alipay/return?${ctx.querystring}`);
  });

  router.get('/interaction/:uid/alipay/return', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const back = [{ href: `/interaction/${interaction.uid}`, label: '返回登录' }];
    await onFormError(
      ctx,
      async () => {
        const trip = await takeRoundTrip(deps, ctx);
        if (trip.purpose === 'certify' || trip.uid !== interaction.uid) throw new AlipayStateInvalid();
        if (trip.purpose === 'realname') {
          const profile = await profileFromCallback(deps, ctx, 'verification');
          return certifyInSignIn(ctx, deps, interaction, profile);
        }
        const profile = await profileFromCallback(deps, ctx, 'login');
        return signInWithAlipay(ctx, deps, interaction, profile);
      },
      (err) => renderAlipayFailure(ctx, deps, err, { links: back }),
    );
  });

  alipayOnboardingRoutes(router, deps);
  alipayRealNameRoutes(router, deps);
}

/**
 * The branches README.md describes under 支付宝 (Alipay): a linked Alipay user signs straight in; an unknown certified
 * one either registers (支付宝关联注册) or, when its ID number already has an account, signs in to
 * that account to link it; an uncertified one is told why and offered registration.
 */
async function signInWithAlipay(
  ctx: Context,
  deps: AlipaySignInDeps,
  interaction: Interaction,
  profile: AlipayProfile,
) {
  const uid = interaction.uid;
  const linked = await deps.alipay.accountLinkedTo(profile);
  if (linked) {
    return finishAlipayLogin(ctx, deps, interaction, linked.id, {
      method: 'alipay',
      verified: [ALIPAY_FACTOR.amr],
    });
  }
  if (!profile.identity) {
    await recordLoginFailure(deps, ctx, { method: 'alipay', reason: 'alipay_not_certified' });
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
    await deps.flowStates.put(ALIPAY_PENDING, uid, { mode: 'link', profile, accountId: holder.id });
    return ctx.redirect(`/interaction/${uid}/alipay/link`);
  }
  await deps.flowStates.put(ALIPAY_PENDING, uid, { mode: 'register', profile });
  return ctx.redirect(`/interaction/${uid}/alipay/register`);
}
