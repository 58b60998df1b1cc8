import type { Context } from 'koa';
import type { AuditMethod } from '../../../audit/audit-words.js';
import type { AlipayLinkService } from '../../../federation/alipay-link-service.js';
import type { Factor, FactorSpec } from '../../assurance.js';
import type { LoginRecorder } from '../../complete-login.js';
import { auditEvent, type FlowDeps, type PageDeps } from '../../flow-kit.js';
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
  };

/** What the Alipay method reads of the application. */
export type AlipaySources = Pick<MethodSources, 'flow' | 'factors'> & {
  services: { alipay: AlipayLinkService };
  config: { issuer: string };
};

export function alipayDeps({ flow, factors, services, config }: AlipaySources): AlipayFlowDeps {
  return { ...flow, factors, alipay: services.alipay, issuer: config.issuer };
}

/** Alipay's assertion of who the person is: another party's word, never towards mfa. */
export const ALIPAY_FACTOR: FactorSpec = { amr: 'alipay', kind: 'outside' };

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
