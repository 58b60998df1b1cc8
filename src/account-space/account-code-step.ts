import type { Context } from 'koa';
import { z } from 'zod';
import { codeSentTo, rememberCodeSent } from '../flows/code-sending.js';
import { smsCodeField } from '../web/form-fields.js';
import { formInput } from '../web/page-kit.js';
import type { AccountSession, AccountSpaceDeps } from './account-context.js';

const codeForm = z.object({ sms_code: smsCodeField });

/**
 * The SMS step before an action of 用户空间 (身份证认证, 绑定证书): a code to the account's own
 * phone, then the code checked and remembered for its ten minutes (flow state `kind`). Each step
 * answers with a 303 to a GET page, so reloading a page never posts again.
 */
export function accountCodeStep(
  deps: Pick<AccountSpaceDeps, 'sms' | 'flowStates'>,
  kind: 'id-verify' | 'cert-bind',
) {
  return {
    /** Whether a code went out in this session, and the seconds before 重新发送. */
    sent: (session: AccountSession) => codeSentTo(deps.flowStates, session.sessionUid, kind),

    async send(ctx: Context, session: AccountSession, then: string) {
      await deps.sms.send({ phone: session.smsPhone, purpose: 'account', ip: ctx.ip });
      await rememberCodeSent(deps.flowStates, session.sessionUid, kind);
      ctx.status = 303;
      ctx.redirect(then);
    },

    async check(ctx: Context, session: AccountSession, then: string) {
      await deps.sms.verify({
        phone: session.smsPhone,
        purpose: 'account',
        code: formInput(ctx, codeForm).sms_code,
        ip: ctx.ip,
      });
      // The verified step lasts its ten minutes however often the page is reloaded.
      await deps.flowStates.put(kind, session.sessionUid, { accountId: session.account.id });
      ctx.status = 303;
      ctx.redirect(then);
    },
  };
}
