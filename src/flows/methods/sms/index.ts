import { z } from 'zod';
import type { AccountService } from '../../../accounts/account-service.js';
import { maskPhone, parseMainlandMobile } from '../../../accounts/phone.js';
import { FormInvalid, LoginFailed } from '../../../errors.js';
import { LIMITS, type RateLimiter } from '../../../ops/rate-limiter.js';
import type { FlowStates } from '../../../state/flow-state.js';
import type { CaptchaService } from '../../../verification/captcha-service.js';
import type { SmsCodeService } from '../../../verification/sms-code-service.js';
import { field } from '../../../web/body.js';
import { browserId } from '../../../web/browser-id.js';
import { actionForm, captchaField, phoneField, smsCodeField } from '../../../web/form-fields.js';
import { formInput } from '../../../web/page-kit.js';
import type { FactorSpec } from '../../assurance.js';
import { codeSentNotice, codeSentTo } from '../../code-sending.js';
import type { LoginMethod, MethodSources } from '../login-method.js';

/** An SMS code: proves the phone is held. */
export const SMS_FACTOR: FactorSpec = { amr: 'sms', kind: 'possession' };

interface SmsDeps {
  accounts: AccountService;
  captcha: CaptchaService;
  sms: SmsCodeService;
  limiter: RateLimiter;
  flowStates: FlowStates;
}

/** 获取验证码 sends to the phone after the captcha; 登录 checks the code sent to it. */
const sendCodeForm = z.object({ phone: phoneField, captcha: captchaField });
const smsLoginForm = z.object({ phone: phoneField, sms_code: smsCodeField });
const stepUpCodeForm = z.object({ sms_code: smsCodeField });

const smsTarget = (input: string) => {
  const phone = parseMainlandMobile(input);
  return phone.ok ? `login:${phone.e164}` : undefined;
};

/**
 * 短信验证码登录: a code to a registered phone. It still works while the password path is locked.
 * On the step-up page, a code to the signed-in account's phone.
 */
export const smsMethod: LoginMethod<Pick<MethodSources, 'flow'>, SmsDeps> = {
  id: 'sms',
  tab: 'natural',
  factors: [SMS_FACTOR],
  deps: ({ flow }) => ({
    accounts: flow.accounts,
    captcha: flow.captcha,
    sms: flow.sms,
    limiter: flow.limiter,
    flowStates: flow.flowStates,
  }),
  form: {
    tab: { label: '短信验证码登录', view: '_method-sms', query: 'sms' },
    action: 'login-sms',
    async page(ctx, interaction, deps) {
      const phone = field(ctx, 'phone');
      return { phone, ...(await codeSentTo(deps.flowStates, interaction.uid, smsTarget(phone))) };
    },
    async prove({ ctx, codeSent }, deps) {
      const sending = formInput(ctx, actionForm).action === 'send_sms';
      const input = sending ? formInput(ctx, sendCodeForm) : formInput(ctx, smsLoginForm);
      const phone = parseMainlandMobile(input.phone);
      if (!phone.ok) throw FormInvalid.field('phone', phone.message);

      if ('captcha' in input) {
        await deps.captcha.check(browserId(ctx), input.captcha);
        // Only registered numbers get a message; the answer, waits and limits are the same either way.
        await deps.sms.sendToAccountHolder({ phone: phone.e164, purpose: 'login', ip: ctx.ip });
        return codeSent({
          target: `login:${phone.e164}`,
          notice: `如该手机号已注册，${codeSentNotice(phone.e164)}`,
        });
      }

      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.sms.verify({ phone: phone.e164, purpose: 'login', code: input.sms_code, ip: ctx.ip });
      // Read only now: sending the code looks the phone up itself (sendToAccountHolder).
      const account = await deps.accounts.findByPhone(phone.e164);
      if (!account) throw new LoginFailed();
      const lockedUntil = account.password_locked_until ? new Date(account.password_locked_until) : undefined;
      return {
        accountId: account.id,
        verified: [SMS_FACTOR.amr],
        method: 'sms',
        // Told only now, after the SMS code proved the person holds the phone.
        ...(lockedUntil && lockedUntil.getTime() > Date.now()
          ? {
              notice: {
                title: '密码登录已锁定',
                message: `由于连续多次输错密码，您账号的密码登录已锁定至 ${lockedUntil.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}。本次短信验证码登录不受影响；您也可以通过“忘记密码”重置密码。`,
              },
            }
          : {}),
      };
    },
  },
  stepUp: {
    factor: SMS_FACTOR.amr,
    first: true,
    available: (account) => !!account.phone,
    view: '_step-up-sms',
    audited: 'sms',
    async page(_ctx, interaction, account, deps) {
      return {
        phoneMasked: maskPhone(account.phone!),
        ...(await codeSentTo(deps.flowStates, interaction.uid, 'step_up')),
      };
    },
    async prove({ ctx, account, codeSent }, deps) {
      if (formInput(ctx, actionForm).action === 'send_sms') {
        await deps.sms.send({ phone: account.phone!, purpose: 'step_up', ip: ctx.ip });
        return codeSent({ target: 'step_up', notice: `验证码已发送至 ${maskPhone(account.phone!)}` });
      }
      const { sms_code: code } = formInput(ctx, stepUpCodeForm);
      await deps.sms.verify({ phone: account.phone!, purpose: 'step_up', code, ip: ctx.ip });
    },
  },
};
