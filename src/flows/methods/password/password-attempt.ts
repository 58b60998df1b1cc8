import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountRow } from '../../../accounts/account-store.js';
import { mistypedLogin } from '../../../accounts/login-string.js';
import { FormInvalid, LoginFailed } from '../../../errors.js';
import { field } from '../../../web/body.js';
import { browserId } from '../../../web/browser-id.js';
import { captchaField, loginField, secretField } from '../../../web/form-fields.js';
import { formInput } from '../../../web/page-kit.js';
import { completeLogin, continueTo, recordLoginFailure } from '../../complete-login.js';
import { withPageErrors } from '../../flow-kit.js';
import { interactionOf } from '../../interaction.js';
import type { MethodDeps } from '../login-method.js';

export type PasswordDeps = Pick<
  MethodDeps,
  | 'host'
  | 'views'
  | 'csrf'
  | 'devVerifier'
  | 'alipayConfigured'
  | 'loginPage'
  | 'loginGuard'
  | 'captcha'
  | 'accounts'
  | 'audit'
  | 'metrics'
  | 'flowStates'
>;

/** Empty fields are not refused here: an empty login or password is a failed attempt, audited as one. */
const passwordForm = z.object({ login: loginField, password: secretField, captcha: captchaField });

/**
 * A login string and a password, with 登录失败处理 (captcha after three failures, the password
 * path locked after ten): the counters follow the login string, whatever it is. `kind` says
 * which accounts the string may name: a citizen's phone or ID number, or a credit code.
 */
export async function passwordAttempt(
  ctx: Context,
  deps: PasswordDeps,
  method: { id: string; kind?: 'credit_code' },
) {
  const interaction = await interactionOf(deps, ctx);
  deps.csrf.verify(ctx, field(ctx, '_csrf'));
  // What the login page shows again after a refusal, drawn only then: a sign-in that succeeds
  // does not read the captcha counters for a page nobody sees.
  const page: Record<string, unknown> = { login: field(ctx, 'login') };
  const pageAgain = async () => ({ ...(await deps.loginPage.data(ctx, interaction, method.id)), ...page });
  return withPageErrors(ctx, deps, 'login', pageAgain, async () => {
    const { login, password, captcha } = formInput(ctx, passwordForm, ['password']);
    const mistyped = mistypedLogin(login, method.kind);
    if (mistyped)
      throw new FormInvalid(
        [{ field: method.kind === 'credit_code' ? 'credit_code_login' : 'login', message: mistyped }],
        'login_mistyped',
      );
    // The attempt's limits and its failure counters, in one statement.
    const attempt = await deps.loginGuard.attempt(login, ctx.ip);
    page['captchaRequired'] = attempt.captchaRequired;
    attempt.assertAllowed();
    if (page['captchaRequired']) await deps.captcha.check(browserId(ctx), captcha);
    let account: AccountRow;
    try {
      // An empty field is not an attempt on the account's password lock, but is still audited on it.
      if (!login || !password)
        throw new LoginFailed((await deps.accounts.findByLogin(login, method.kind))?.id);
      account = await deps.accounts.authenticatePassword(login, password, method.kind);
    } catch (err) {
      if (err instanceof LoginFailed) {
        const { captchaRequired } = await deps.loginGuard.recordFailure(login, ctx.ip);
        await recordLoginFailure(deps, ctx, {
          method: 'password',
          accountId: err.accountId,
          ...(err.accountId ? {} : { reason: 'unknown login' }),
        });
        page['captchaRequired'] = captchaRequired;
      }
      throw err;
    }
    if (attempt.loginFailures > 0) await deps.loginGuard.clear(login);
    continueTo(
      ctx,
      await completeLogin(deps, ctx, interaction, {
        accountId: account.id,
        account,
        verified: ['pwd'],
        method: 'password',
      }),
    );
  });
}
