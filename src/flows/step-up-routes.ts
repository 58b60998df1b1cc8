import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ACR, type Acr } from '../access/scopes.js';
import { maskPhone } from '../accounts/phone.js';
import { LoginFailed, SessionExpired } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { actionForm, secretField, smsCodeField } from '../web/form-fields.js';
import { formInput } from '../web/page-kit.js';
import { acrBelow, assuranceOf, type Factor, factorsOf } from './assurance.js';
import { codeSentTo } from './code-sending.js';
import { completeLogin, continueTo, recordLoginFailure } from './complete-login.js';
import { answerPageCodeSent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { clientNameOf, type Interaction, interactionOf } from './interaction.js';

type Deps = Pick<
  FlowDeps,
  | 'host'
  | 'views'
  | 'csrf'
  | 'devVerifier'
  | 'alipayConfigured'
  | 'accounts'
  | 'sms'
  | 'flowStates'
  | 'audit'
  | 'metrics'
>;

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

/** The factors of the session (its amr, which the server set) plus those proved in this step-up. */
async function factorsSoFar(deps: Deps, interaction: Interaction): Promise<Factor[]> {
  const session = factorsOf((interaction.session as { amr?: string[] } | undefined)?.amr);
  const stepped = (await deps.flowStates.get('step-up', interaction.uid))?.verified ?? [];
  return [...new Set([...session, ...stepped])];
}

/**
 * The next factor to ask for: the one that brings the session to the required acr soonest — an
 * SMS code after a password, the password after an SMS code; after Alipay alone (which does
 * not count towards mfa) first an SMS code, then the password.
 */
function nextFactor(have: Factor[]): 'sms' | 'pwd' {
  if (have.includes('pwd')) return 'sms';
  if (have.includes('sms')) return 'pwd';
  return 'sms';
}

async function pageOf(deps: Deps, interaction: Interaction, phone: string | null | undefined) {
  const requiredAcr = interaction.prompt.details['requiredAcr'] as Acr | undefined;
  return {
    title: '安全验证',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    requiredAcr,
    certRequired: requiredAcr === ACR.cert,
    factor: nextFactor(await factorsSoFar(deps, interaction)),
    phoneMasked: phone ? maskPhone(phone) : '',
  };
}

export async function renderStepUp(ctx: Context, deps: Deps, interaction: Interaction, extra = {}) {
  const account = await deps.accounts.find(interaction.session!.accountId);
  renderPage(ctx, deps, 'step-up', { ...(await pageOf(deps, interaction, account?.phone)), ...extra });
}

/** The factor the page asks for: the SMS code (after 获取验证码), or the password. */
const smsForm = z.object({ sms_code: smsCodeField });
const passwordForm = z.object({ password: secretField });

/** Step-up: a site asking for urn:unified-id:acr:mfa gets a second factor, never a silent downgrade. */
export function stepUpRoutes(router: Router, deps: Deps) {
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
      if (factor === 'sms' && formInput(ctx, actionForm).action === 'send_sms') {
        await deps.sms.send({ phone: account.phone!, purpose: 'step_up', ip: ctx.ip });
        return answerPageCodeSent(ctx, deps, interaction, 'step-up', page, {
          target: 'step_up',
          notice: `验证码已发送至 ${page.phoneMasked}`,
        });
      }
      if (factor === 'sms') {
        const { sms_code: code } = formInput(ctx, smsForm);
        await deps.sms.verify({ phone: account.phone!, purpose: 'step_up', code, ip: ctx.ip });
      } else if (
        !(await deps.accounts.checkPasswordOf(account, formInput(ctx, passwordForm, ['password']).password))
      ) {
        await recordLoginFailure(deps, ctx, { method: 'step_up_pwd', accountId });
        throw new LoginFailed();
      }
      const verified = [...(await factorsSoFar(deps, interaction)), factor];
      const wanted = (page.requiredAcr ?? ACR.mfa) as Acr;
      if (acrBelow(assuranceOf(verified).acr, wanted)) {
        // Not there yet (Alipay and an SMS code are still basic): one more factor.
        await deps.flowStates.put('step-up', interaction.uid, { verified });
        return renderStepUp(ctx, deps, interaction);
      }
      await deps.flowStates.remove('step-up', interaction.uid);
      continueTo(
        ctx,
        await completeLogin(deps, ctx, interaction, { accountId, verified, method: factor, stepUp: true }),
      );
    });
  });
}
