import { z } from 'zod';
import { LoginFailed } from '../../../errors.js';
import { field } from '../../../web/body.js';
import { secretField } from '../../../web/form-fields.js';
import { formInput } from '../../../web/page-kit.js';
import { recordLoginFailure } from '../../complete-login.js';
import type { LoginMethod, MethodSources } from '../login-method.js';
import { PASSWORD_FACTOR, type PasswordDeps, passwordAttempt, passwordDeps } from './password-attempt.js';

const stepUpForm = z.object({ password: secretField });

/**
 * 密码登录 (自然人): 手机号码 or 身份证号码 (of a verified account) + 密码. On the step-up page, the
 * password of the signed-in account.
 */
export const passwordMethod: LoginMethod<Pick<MethodSources, 'flow'>, PasswordDeps> = {
  id: 'password',
  tab: 'natural',
  factors: [PASSWORD_FACTOR],
  deps: passwordDeps,
  form: {
    tab: { label: '密码登录', view: '_method-password' },
    action: 'login',
    page: async (ctx) => ({ login: field(ctx, 'login') }),
    prove: (submission, deps) => passwordAttempt(submission, deps),
  },
  stepUp: {
    factor: PASSWORD_FACTOR.amr,
    available: (account) => !!account.password_hash,
    view: '_step-up-password',
    audited: 'pwd',
    async prove({ ctx, account }, deps) {
      const { password } = formInput(ctx, stepUpForm, ['password']);
      if (!(await deps.accounts.checkPasswordOf(account, password))) {
        await recordLoginFailure(deps, ctx, { method: 'step_up_pwd', accountId: account.id });
        throw new LoginFailed();
      }
    },
  },
};
