import type Router from '@koa/router';
import type { Context } from 'koa';
import { maskPhone } from '../accounts/phone.js';
import { LoginFailed, SessionExpired } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import { ACR } from '../oidc/scopes.js';
import { answerCodeSent, codeSentTo } from './code-sending.js';
import {
  auditEvent,
  clientNameOf,
  type FlowDeps,
  finishLogin,
  type Interaction,
  interactionOf,
  renderPage,
  withPageErrors,
} from './flow-kit.js';

/** Whether the interaction is a signed-in person whom the site asks for a stronger login. */
export function needsStepUp(interaction: Interaction): boolean {
  const reasons = interaction.prompt.reasons;
  return (
    interaction.prompt.name === 'login' &&
    !!interaction.session?.accountId &&
    reasons.includes('acr_step_up') &&
    !reasons.some((r) => ['no_session', 'login_prompt', 'max_age', 'id_token_hint'].includes(r))
  );
}

function sessionAmr(interaction: Interaction): string[] {
  return ((interaction.session as { amr?: string[] } | undefined)?.amr ?? []).filter((m) => m !== 'mfa');
}

/** The second factor to ask for: an SMS code after a password, the password after an SMS code. */
function secondFactor(interaction: Interaction): 'sms' | 'pwd' {
  return sessionAmr(interaction).includes('pwd')
    ? 'sms'
    : sessionAmr(interaction).includes('sms')
      ? 'pwd'
      : 'sms';
}

async function pageOf(deps: FlowDeps, interaction: Interaction, phone: string | null | undefined) {
  return {
    title: '安全验证',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    requiredAcr: interaction.prompt.details['requiredAcr'],
    certRequired: interaction.prompt.details['requiredAcr'] === ACR.cert,
    factor: secondFactor(interaction),
    phoneMasked: phone ? maskPhone(phone) : '',
  };
}

export async function renderStepUp(ctx: Context, deps: FlowDeps, interaction: Interaction, extra = {}) {
  const account = await deps.accounts.find(interaction.session!.accountId);
  renderPage(ctx, deps, 'step-up', { ...(await pageOf(deps, interaction, account?.phone)), ...extra });
}

/** Step-up: a site asking for urn:unified-id:acr:mfa gets a second factor, never a silent downgrade. */
export function stepUpRoutes(router: Router, deps: FlowDeps) {
  router.post('/interaction/:uid/step-up', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    if (!needsStepUp(interaction)) throw new SessionExpired();
    if (interaction.prompt.details['requiredAcr'] === ACR.cert) throw new SessionExpired();
    const accountId = interaction.session!.accountId;
    const account = await deps.accounts.find(accountId);
    if (!account?.phone) throw new SessionExpired();
    const page = {
      ...(await pageOf(deps, interaction, account.phone)),
      ...(await codeSentTo(deps.flowStates, interaction.uid, 'step_up')),
    };
    const { factor } = page;
    return withPageErrors(ctx, deps, 'step-up', page, async () => {
      if (factor === 'sms' && field(ctx, 'action') === 'send_sms') {
        await deps.sms.send({ phone: account.phone!, purpose: 'step_up', ip: ctx.ip });
        return answerCodeSent(
          ctx,
          deps.flowStates,
          { scope: interaction.uid, target: 'step_up', notice: `验证码已发送至 ${page.phoneMasked}` },
          (sent) => renderPage(ctx, deps, 'step-up', { ...page, ...sent }),
        );
      }
      if (factor === 'sms') {
        await deps.sms.verify({ phone: account.phone!, purpose: 'step_up', code: field(ctx, 'sms_code') });
      } else if (!(await deps.accounts.checkPasswordOf(account, rawField(ctx, 'password')))) {
        throw new LoginFailed();
      }
      deps.metrics.logins.inc({ method: `step_up_${factor}`, outcome: 'success' });
      await auditEvent(deps, ctx, { type: 'step_up', method: factor, outcome: 'success', accountId });
      const amr = [...new Set([...sessionAmr(interaction), factor, 'mfa'])];
      return finishLogin(ctx, interaction, accountId, ACR.mfa, amr);
    });
  });
}
