import type Router from '@koa/router';
import type { Context } from 'koa';
import { AlipayNotConfigured } from '../../../federation/alipay-errors.js';
import type { AlipayProfile } from '../../../federation/alipay-link-service.js';
import { onFormError } from '../../../web/page-kit.js';
import { beginRoundTrip } from '../../alipay-round-trip.js';
import { auditEvent } from '../../flow-kit.js';
import { type Interaction, interactionOf } from '../../interaction.js';
import {
  complete as completeRealName,
  modeOf as realNameModeOf,
  realNameSucceeded,
  renderRealName,
} from '../../realname-routes.js';
import type { AlipayFlowDeps } from './alipay-kit.js';

/** 支付宝认证 from the 实名认证 page of a sign-in (right after 注册, or a site that requires L2). */
export function alipayRealNameRoutes(router: Router, deps: AlipayFlowDeps) {
  router.get('/interaction/:uid/alipay/realname', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    if (!deps.alipay.configured) throw new AlipayNotConfigured();
    await realNameModeOf(deps, interaction);
    ctx.redirect(await beginRoundTrip(deps, ctx, { purpose: 'realname', uid: interaction.uid }));
  });
}

/** Back from Alipay inside a sign-in: certify the account of the 实名认证 step, then carry on. */
export async function certifyInSignIn(
  ctx: Context,
  deps: AlipayFlowDeps,
  interaction: Interaction,
  profile: AlipayProfile,
) {
  const mode = await realNameModeOf(deps, interaction);
  const outcome = await onFormError(
    ctx,
    () => deps.alipay.certify(mode.accountId, profile),
    async (err) => {
      await auditEvent(deps, ctx, {
        type: 'verification',
        method: 'alipay',
        outcome: 'failure',
        accountId: mode.accountId,
        detail: { reason: err.code },
      });
      await renderRealName(ctx, deps, interaction, { error: err.userMessage });
    },
  );
  if (!outcome) return;
  await auditEvent(deps, ctx, {
    type: 'verification',
    method: 'alipay',
    outcome: 'success',
    accountId: mode.accountId,
    detail: outcome,
  });
  return completeRealName(deps, ctx, interaction, mode, await realNameSucceeded(deps, interaction, mode));
}
