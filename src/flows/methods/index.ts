import { alipayMethod } from './alipay/index.js';
import { certificateMethod } from './certificate/index.js';
import { creditCodeMethod } from './credit-code/index.js';
import { passwordMethod } from './password/index.js';
import { smsMethod } from './sms/index.js';

/**
 * Every way into an account, in the order the login page shows them. Adding a method is a
 * folder beside these and one line here: its factors, pages, dependencies and step-up form come
 * with it. test/e2e/login-methods.test.ts then insists that it passes the same cases as the others.
 */
export const LOGIN_METHODS = [
  passwordMethod,
  smsMethod,
  alipayMethod,
  creditCodeMethod,
  certificateMethod,
] as const;
