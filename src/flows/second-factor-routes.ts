import type Router from '@koa/router';
import { z } from 'zod';
import { type MethodWords, methodThen } from '../audit/audit-words.js';
import { LIMITS } from '../ops/rate-limiter.js';
import { field, parseBody } from '../web/body.js';
import { formInput } from '../web/page-kit.js';
import {
  completeLogin,
  continueTo,
  type LoginRecorder,
  recordLoginFailure,
  SECOND_FACTOR,
} from './complete-login.js';
import { type FlowDeps, type PageDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';
import type { LoginPage } from './methods/login-method.js';

type Deps = PageDeps &
  Pick<FlowDeps, 'host' | 'flowStates' | 'accounts' | 'totp' | 'limiter' | 'audit' | 'metrics'> &
  LoginRecorder & { loginPage: LoginPage; methodWords: MethodWords };

const totpForm = z.object({
  code: z.string().min(1, '请输入动态验证码或恢复码').max(32, '动态验证码或恢复码错误'),
});

/**
 * 两步验证: the TOTP code (or a recovery code) completeLogin asks for when the account has it on
 * and the factors so far are below a certificate, whichever method proved them.
 */
export function secondFactorRoutes(router: Router, deps: Deps) {
  const page = (uid: string) => ({ title: '两步验证', uid });

  router.get('/interaction/:uid/totp', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    if (!(await deps.flowStates.get('totp', interaction.uid))) {
      return deps.loginPage.render(ctx, interaction, { error: '登录已过期，请重新登录' });
    }
    renderPage(ctx, deps, 'totp', page(interaction.uid));
  });

  router.post('/interaction/:uid/totp', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const pending = await deps.flowStates.get('totp', interaction.uid);
    const account = pending ? await deps.accounts.find(pending.accountId) : undefined;
    // The method the first factor was proved with, as this server's methods write it.
    const method = pending?.method;
    if (!pending || !account || !method || !deps.methodWords.isMethod(method)) {
      return deps.loginPage.render(ctx, interaction, { error: '登录已过期，请重新登录' });
    }
    return withPageErrors(ctx, deps, 'totp', page(interaction.uid), async () => {
      await deps.limiter.consume(LIMITS.loginPerAccount, account.id);
      const { code } = formInput(ctx, totpForm);
      let how: 'otp' | 'recovery';
      try {
        how = await deps.totp.check(account, code);
      } catch (err) {
        await recordLoginFailure(deps, ctx, { method: 'totp', accountId: account.id });
        throw err;
      }
      await deps.flowStates.remove('totp', interaction.uid);
      const next = await completeLogin(deps, ctx, interaction, {
        accountId: account.id,
        verified: [...pending.verified, SECOND_FACTOR.amr],
        method: methodThen(method, how),
        stepUp: pending.stepUp,
      });
      continueTo(ctx, next);
    });
  });
}
