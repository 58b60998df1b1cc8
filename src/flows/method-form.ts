import type Router from '@koa/router';
import type { Context } from 'koa';
import { field, parseBody } from '../web/body.js';
import { jsonAnswer } from '../web/page-kit.js';
import { completeLogin, continueTo, type LoginRecorder, secondFactorPath } from './complete-login.js';
import { answerPageCodeSent, type FlowDeps, type PageDeps, renderPage, withPageErrors } from './flow-kit.js';
import { type Interaction, interactionOf } from './interaction.js';
import {
  ANSWERED,
  type LoginPage,
  type MethodForm,
  type MethodKit,
  type Proven,
  type Submission,
} from './methods/login-method.js';

type FinishDeps = PageDeps & LoginRecorder;
type Deps = FinishDeps & Pick<FlowDeps, 'host' | 'flowStates'> & { loginPage: LoginPage };

/** What a method proved, handed to completeLogin: the one call of it for every method. Where the browser goes next. */
function signIn(deps: FinishDeps, ctx: Context, interaction: Interaction, proven: Proven): Promise<string> {
  const { notice: _shownOnPagesOnly, ...verified } = proven;
  return completeLogin(deps, ctx, interaction, verified);
}

/**
 * The end of a sign-in answered with a page: the method's notice with 继续 when there is one (not
 * before 两步验证), else on to wherever completeLogin sends the browser.
 */
async function finishOnPage(deps: FinishDeps, ctx: Context, interaction: Interaction, proven: Proven) {
  const next = await signIn(deps, ctx, interaction, proven);
  if (proven.notice && next !== secondFactorPath(interaction.uid)) {
    return renderPage(ctx, deps, 'notice', { ...proven.notice, continueUrl: next });
  }
  continueTo(ctx, next);
}

/**
 * What the interaction router lends a method's own pages: the login page, and the same end of a
 * sign-in as the form handler's, for a method that proves on a page of its own (back from
 * Alipay, say).
 */
export function methodKit(deps: FinishDeps & { loginPage: LoginPage }): MethodKit {
  return {
    loginPage: deps.loginPage,
    finish: (ctx, interaction, proven) => finishOnPage(deps, ctx, interaction, proven),
  };
}

/**
 * The one handler of every method's form: finds the interaction, checks the CSRF token, lets
 * the method turn the form into what was proven, and hands that to completeLogin. A refusal the
 * person can act on shows the login page again on the method's form (or, to the page's script,
 * `{error}`), by the page kit's one rule.
 */
export function mountMethodForm<D>(
  router: Router,
  deps: Deps,
  method: { id: string; form: MethodForm<D> },
  methodDeps: D,
) {
  const { form } = method;
  router.post(`/interaction/:uid/${form.action}`, parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    // Drawn only after a refusal: a sign-in that succeeds does not read the captcha counters
    // for a page nobody sees.
    const shown: Record<string, unknown> = {};
    const pageAgain = async () => ({
      ...(await deps.loginPage.data(ctx, interaction, method.id)),
      ...(await form.page?.(ctx, interaction, methodDeps)),
      ...shown,
    });
    const submission: Submission = {
      ctx,
      interaction,
      page: shown,
      codeSent: async (sent) => {
        await answerPageCodeSent(ctx, deps, interaction, 'login', await pageAgain(), sent);
        return ANSWERED;
      },
    };

    if (form.answer === 'script') {
      return jsonAnswer(ctx, async () => {
        const proven = await form.prove(submission, methodDeps);
        if (proven === ANSWERED) return ctx.body;
        return { redirectTo: await signIn(deps, ctx, interaction, proven) };
      });
    }
    return withPageErrors(ctx, deps, 'login', pageAgain, async () => {
      const proven = await form.prove(submission, methodDeps);
      if (proven === ANSWERED) return;
      return finishOnPage(deps, ctx, interaction, proven);
    });
  });
}
