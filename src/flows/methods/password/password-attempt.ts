import { z } from 'zod';
import type { AccountService } from '../../../accounts/account-service.js';
import type { AccountRow } from '../../../accounts/account-store.js';
import type { LoginGuard } from '../../../accounts/login-guard.js';
import { mistypedLogin } from '../../../accounts/login-string.js';
import { FormInvalid, LoginFailed } from '../../../errors.js';
import type { CaptchaService } from '../../../verification/captcha-service.js';
import { browserId } from '../../../web/browser-id.js';
import { captchaField, loginField, secretField } from '../../../web/form-fields.js';
import { formInput } from '../../../web/page-kit.js';
import type { FactorSpec } from '../../assurance.js';
import { type LoginRecorder, recordLoginFailure } from '../../complete-login.js';
import type { MethodSources, Proven, Submission } from '../login-method.js';

/** A password: something known. */
export const PASSWORD_FACTOR: FactorSpec = { amr: 'pwd', kind: 'knowledge' };

export interface PasswordDeps extends Pick<LoginRecorder, 'audit' | 'metrics'> {
  accounts: AccountService;
  loginGuard: LoginGuard;
  captcha: CaptchaService;
}

/** What a password sign-in reads, taken from the flows' wiring. */
export const passwordDeps = ({ flow }: Pick<MethodSources, 'flow'>): PasswordDeps => ({
  accounts: flow.accounts,
  loginGuard: flow.loginGuard,
  captcha: flow.captcha,
  audit: flow.audit,
  metrics: flow.metrics,
});

/** Empty fields are not refused here: an empty login or password is a failed attempt, audited as one. */
const passwordForm = z.object({ login: loginField, password: secretField, captcha: captchaField });

/**
 * A login string and a password, with 登录失败处理 (captcha after three failures, the password
 * path locked after ten): the counters follow the login string, whatever it is. `kind` says
 * which accounts the string may name: a citizen's phone or ID number, or a credit code.
 */
export async function passwordAttempt(
  { ctx, page }: Submission,
  deps: PasswordDeps,
  kind?: 'credit_code',
): Promise<Proven> {
  const { login, password, captcha } = formInput(ctx, passwordForm, ['password']);
  const mistyped = mistypedLogin(login, kind);
  if (mistyped)
    throw new FormInvalid(
      [{ field: kind === 'credit_code' ? 'credit_code_login' : 'login', message: mistyped }],
      'login_mistyped',
    );
  // The attempt's limits and its failure counters, in one statement.
  const attempt = await deps.loginGuard.attempt(login, ctx.ip);
  page['captchaRequired'] = attempt.captchaRequired;
  attempt.assertAllowed();
  if (attempt.captchaRequired) await deps.captcha.check(browserId(ctx), captcha);
  let account: AccountRow;
  try {
    // An empty field is not an attempt on the account's password lock, but is still audited on it.
    if (!login || !password) throw new LoginFailed((await deps.accounts.findByLogin(login, kind))?.id);
    account = await deps.accounts.authenticatePassword(login, password, kind);
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
  return { accountId: account.id, account, verified: [PASSWORD_FACTOR.amr], method: 'password' };
}
