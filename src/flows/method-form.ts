import type Router from '@koa/router';
import { field, parseBody } from '../web/body.js';
import { jsonAnswer } from '../web/page-kit.js';
import { completeLogin, continueTo, type LoginRecorder, secondFactorPath } from './complete-login.js';
import { answerPageCodeSent, type FlowDeps, type PageDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';
import { ANSWERED, type LoginPage, type MethodForm, type Submission } from './methods/login-method.js';

type Deps = PageDeps & Pick<FlowDeps, 'host' | 'flowStates'> & LoginRecorder & { loginPage: LoginPage };

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
        const { notice: _shownOnPagesOnly, ...verified } = proven;
        return { redirectTo: await completeLogin(deps, ctx, interaction, verified) };
      });
    }
    return withPageErrors(ctx, deps, 'login', pageAgain, async () => {
      const proven = await form.prove(submission, methodDeps);
      if (proven === ANSWERED) return;
      const { notice, ...verified } = proven;
      const next = await completeLogin(deps, ctx, interaction, verified);
      if (notice && next !== secondFactorPath(interaction.uid)) {
        return renderPage(ctx, deps, 'notice', { ...notice, continueUrl: next });
      }
      continueTo(ctx, next);
    });
  });
}
