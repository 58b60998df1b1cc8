import { field } from '../../../web/body.js';
import type { LoginMethod, MethodSources } from '../login-method.js';
import {
  PASSWORD_FACTOR,
  type PasswordDeps,
  passwordAttempt,
  passwordDeps,
} from '../password/password-attempt.js';

/** 法人用户登录: 统一社会信用代码 + 密码, with the same 登录失败处理 as a citizen's password. */
export const creditCodeMethod: LoginMethod<Pick<MethodSources, 'flow'>, PasswordDeps> = {
  id: 'credit-code',
  tab: 'legal',
  factors: [PASSWORD_FACTOR],
  deps: passwordDeps,
  form: {
    tab: { label: '统一社会信用代码登录', view: '_method-credit-code', query: 'legal' },
    action: 'login-legal',
    page: async (ctx) => ({ login: field(ctx, 'login') }),
    prove: (submission, deps) => passwordAttempt(submission, deps, 'credit_code'),
  },
};
