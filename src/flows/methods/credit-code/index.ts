import { parseBody } from '../../../web/body.js';
import type { LoginMethod } from '../login-method.js';
import { passwordAttempt } from '../password/password-attempt.js';

/** 法人用户登录: 统一社会信用代码 + 密码, with the same 登录失败处理 as a citizen's password. */
export const creditCodeMethod: LoginMethod = {
  id: 'credit-code',
  tab: 'legal',
  form: { label: '统一社会信用代码登录', view: '_method-credit-code', query: 'legal' },
  routes(router, deps) {
    router.post('/interaction/:uid/login-legal', parseBody, (ctx) =>
      passwordAttempt(ctx, deps, { id: 'credit-code', kind: 'credit_code' }),
    );
  },
};
