import type Router from '@koa/router';
import type { Context } from 'koa';
import { ACR, type Acr } from '../access/scopes.js';
import type { AccountRow } from '../accounts/account-store.js';
import { SessionExpired } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { acrBelow, type Factor } from './assurance.js';
import { completeLogin, continueTo, type LoginRecorder } from './complete-login.js';
import { answerPageCodeSent, type FlowDeps, type PageDeps, renderPage, withPageErrors } from './flow-kit.js';
import { clientNameOf, type Interaction, interactionOf } from './interaction.js';
import { ANSWERED, type StepUpFactor } from './methods/login-method.js';

/** A step-up factor of a registered method, with the dependencies that method built. */
export interface StepUpOffer {
  // biome-ignore lint/suspicious/noExplicitAny: each method's factor reads its own dependencies
  factor: StepUpFactor<any>;
  deps: unknown;
}

type Deps = PageDeps & Pick<FlowDeps, 'host'> & LoginRecorder & { stepUps: readonly StepUpOffer[] };

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
  const session = deps.factors.known((interaction.session as { amr?: string[] } | undefined)?.amr);
  const stepped = deps.factors.known((await deps.flowStates.get('step-up', interaction.uid))?.verified);
  return [...new Set([...session, ...stepped])];
}

const wantedOf = (interaction: Interaction) =>
  (interaction.prompt.details['requiredAcr'] as Acr | undefined) ?? ACR.mfa;

/**
 * The next factor to ask for, among those the registered methods offer and the account can
 * present, not yet proved: the first that brings the session to the level asked for; when none
 * does alone, one marked `first` (an SMS code proves the phone before the password is asked).
 */
function nextOffer(deps: Deps, have: Factor[], account: AccountRow, wanted: Acr): StepUpOffer | undefined {
  const open = deps.stepUps.filter((o) => !have.includes(o.factor.factor) && o.factor.available(account));
  return (
    open.find((o) => !acrBelow(deps.factors.assuranceOf([...have, o.factor.factor]).acr, wanted)) ??
    open.find((o) => o.factor.first) ??
    open[0]
  );
}

async function pageOf(deps: Deps, ctx: Context, interaction: Interaction, account: AccountRow | undefined) {
  const requiredAcr = interaction.prompt.details['requiredAcr'] as Acr | undefined;
  const have = account ? await factorsSoFar(deps, interaction) : [];
  const offer = account ? nextOffer(deps, have, account, wantedOf(interaction)) : undefined;
  return {
    offer,
    have,
    page: {
      title: '安全验证',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      requiredAcr,
      certRequired: requiredAcr === ACR.cert,
      factor: offer?.factor.factor,
      factorView: offer?.factor.view,
      ...(offer && account ? await offer.factor.page?.(ctx, interaction, account, offer.deps) : {}),
    } as Record<string, unknown>,
  };
}

export async function renderStepUp(ctx: Context, deps: Deps, interaction: Interaction, extra = {}) {
  const account = await deps.accounts.find(interaction.session!.accountId);
  renderPage(ctx, deps, 'step-up', { ...(await pageOf(deps, ctx, interaction, account)).page, ...extra });
}

/**
 * Step-up: a site asking for urn:unified-id:acr:mfa gets a further factor, never a silent
 * downgrade. Which factor is the registry's to say (each method's `stepUp`); this page only
 * opens the form, asks that factor to check it, and finishes through completeLogin.
 */
export function stepUpRoutes(router: Router, deps: Deps) {
  router.post('/interaction/:uid/step-up', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    if (!needsStepUp(interaction)) throw new SessionExpired();
    if (interaction.prompt.details['requiredAcr'] === ACR.cert) throw new SessionExpired();
    const accountId = interaction.session!.accountId;
    const account = await deps.accounts.find(accountId);
    if (!account) throw new SessionExpired();
    const { offer, have, page } = await pageOf(deps, ctx, interaction, account);
    if (!offer) throw new SessionExpired();
    const { factor } = offer;
    return withPageErrors(ctx, deps, 'step-up', page, async () => {
      const proved = await factor.prove(
        {
          ctx,
          interaction,
          account,
          codeSent: async (sent) => {
            await answerPageCodeSent(ctx, deps, interaction, 'step-up', page, sent);
            return ANSWERED;
          },
        },
        offer.deps,
      );
      if (proved === ANSWERED) return;
      const verified = [...have, factor.factor];
      if (acrBelow(deps.factors.assuranceOf(verified).acr, wantedOf(interaction))) {
        // Not there yet (Alipay and an SMS code are still basic): one more factor.
        await deps.flowStates.put('step-up', interaction.uid, { verified });
        return renderStepUp(ctx, deps, interaction);
      }
      await deps.flowStates.remove('step-up', interaction.uid);
      continueTo(
        ctx,
        await completeLogin(deps, ctx, interaction, {
          accountId,
          verified,
          method: factor.audited,
          stepUp: true,
        }),
      );
    });
  });
}
