import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { levelName } from '../accounts/levels.js';
import { SessionExpired } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { idNumberField, REAL_NAME_FIELDS, realNameField } from '../web/form-fields.js';
import { asFormFields, formInput } from '../web/page-kit.js';
import { completeLogin, continueTo, type LoginRecorder } from './complete-login.js';
import { auditEvent, type FlowDeps, type PageDeps, renderPage, withPageErrors } from './flow-kit.js';
import {
  clientNameOf,
  finishInteraction,
  type Interaction,
  interactionOf,
  saveResult,
} from './interaction.js';
import { SMS_FACTOR } from './methods/sms/index.js';

type Deps = PageDeps &
  Pick<FlowDeps, 'host' | 'flowStates' | 'realName' | 'accounts' | 'audit' | 'metrics'> &
  Pick<LoginRecorder, 'factors'>;

type Mode =
  | { kind: 'registration'; accountId: string }
  | { kind: 'required_level'; accountId: string; level: string };

/** Whose identity this page verifies: the account just registered here, or a signed-in one a site requires at L2. */
export async function modeOf(deps: Deps, interaction: Interaction): Promise<Mode> {
  const registered = await deps.flowStates.get('register', interaction.uid);
  if (registered) return { kind: 'registration', accountId: registered.accountId };
  const accountId = interaction.session?.accountId;
  if (interaction.prompt.name === 'realname' && accountId) {
    return {
      kind: 'required_level',
      accountId,
      level: String(interaction.prompt.details['requiredLevel'] ?? 'L2'),
    };
  }
  throw new SessionExpired();
}

async function pageOf(deps: Deps, interaction: Interaction, mode: Mode) {
  return {
    title: '实名认证',
    uid: interaction.uid,
    mode: mode.kind,
    clientName: await clientNameOf(deps, interaction),
  };
}

export async function renderRealName(ctx: Context, deps: Deps, interaction: Interaction, extra = {}) {
  renderPage(ctx, deps, 'realname', {
    ...(await pageOf(deps, interaction, await modeOf(deps, interaction))),
    ...extra,
  });
}

/** The name and ID number; RealNameService judges them (and counts the attempt). */
const realNameForm = z.object({ real_name: realNameField, id_number: idNumberField });

/** 实名认证 right after registration, and inside a sign-in at a site that requires L2. */
export function realNameRoutes(router: Router, deps: Deps) {
  router.get('/interaction/:uid/realname', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    await renderRealName(ctx, deps, interaction);
  });

  router.post('/interaction/:uid/realname', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const mode = await modeOf(deps, interaction);
    const page = {
      ...(await pageOf(deps, interaction, mode)),
      realName: field(ctx, 'real_name'),
      idNumber: field(ctx, 'id_number'),
    };
    return withPageErrors(ctx, deps, 'realname', page, async () => {
      const { real_name: realName, id_number: idNumber } = formInput(ctx, realNameForm);
      await deps.realName
        .verify(mode.accountId, { realName, idNumber, ip: ctx.ip })
        .catch(asFormFields(REAL_NAME_FIELDS));
      await auditEvent(deps, ctx, {
        type: 'verification',
        method: 'id_card',
        outcome: 'success',
        accountId: mode.accountId,
      });
      return complete(deps, ctx, interaction, mode, await realNameSucceeded(deps, interaction, mode));
    });
  });

  router.post('/interaction/:uid/realname/skip', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const mode = await modeOf(deps, interaction);
    if (mode.kind === 'registration') return complete(deps, ctx, interaction, mode);
    return finishInteraction(ctx, interaction, {
      error: 'access_denied',
      error_description: `this site requires certification level ${mode.level} (实名认证)`,
    });
  });
}

/**
 * The page that says 实名认证 succeeded, before the person goes on: the level the sites now see.
 * Every way of 实名认证 in a sign-in (ID number, 支付宝认证) shows this same page.
 */
export async function realNameSucceeded(deps: Deps, interaction: Interaction, mode: Mode) {
  return {
    title: '实名认证成功',
    message: `实名认证成功！您的认证等级已提升为${levelName('L2')}，可以在各政务服务网站办理网上业务。${
      mode.kind === 'registration'
        ? ''
        : `“${(await pageOf(deps, interaction, mode)).clientName}”将看到新的认证等级。`
    }`,
  };
}

/**
 * Ends the 实名认证 step: a registration signs the new account in through completeLogin, a
 * sign-in's 实名认证 is saved as its result. With `success`, a page says so first and its 继续
 * goes on to where the sign-in continues; otherwise the browser goes there at once.
 */
export async function complete(
  deps: Deps,
  ctx: Context,
  interaction: Interaction,
  mode: Mode,
  success?: { title: string; message: string },
) {
  let next: string;
  if (mode.kind === 'registration') {
    await deps.flowStates.remove('register', interaction.uid);
    // The new account proved its phone by SMS a moment ago: that is this session's factor.
    next = await completeLogin(deps, ctx, interaction, {
      accountId: mode.accountId,
      verified: [SMS_FACTOR.amr],
      method: 'registration',
    });
  } else {
    next = await saveResult(interaction, { realname: { verified: true } }, { mergeWithLastSubmission: true });
  }
  if (!success) return continueTo(ctx, next);
  return renderPage(ctx, deps, 'notice', { ...success, continueUrl: next });
}
