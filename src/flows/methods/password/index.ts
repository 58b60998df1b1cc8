import { parseBody } from '../../../web/body.js';
import type { LoginMethod } from '../login-method.js';
import { passwordAttempt } from './password-attempt.js';

/** 密码登录 (自然人): 手机号码 or 身份证号码 (of a verified account) + 密码. */
export const passwordMethod: LoginMethod = {
  id: 'password',
  tab: 'natural',
  form: { label: '密码登录', view: '_method-password' },
  routes(router, deps) {
    router.post('/interaction/:uid/login', parseBody, (ctx) =>
      passwordAttempt(ctx, deps, { id: 'password' }),
    );
  },
};
