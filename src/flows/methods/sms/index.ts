import type Router from '@koa/router';
import { z } from 'zod';
import { parseMainlandMobile } from '../../../accounts/phone.js';
import { BadInput, LoginFailed } from '../../../errors.js';
import { LIMITS } from '../../../ops/rate-limiter.js';
import { field, parseBody } from '../../../web/body.js';
import { browserId } from '../../../web/browser-id.js';
import { actionForm, captchaField, phoneField, smsCodeField } from '../../../web/form-fields.js';
import { formInput } from '../../../web/page-kit.js';
import { codeSentNotice, codeSentTo } from '../../code-sending.js';
import { completeLogin, continueTo, secondFactorPath } from '../../complete-login.js';
import { answerPageCodeSent, renderPage, withPageErrors } from '../../flow-kit.js';
import { interactionOf } from '../../interaction.js';
import type { LoginMethod, MethodDeps } from '../login-method.js';

type Deps = Pick<
  MethodDeps,
  | 'host'
  | 'views'
  | 'csrf'
  | 'devVerifier'
  | 'alipayConfigured'
  | 'loginPage'
  | 'captcha'
  | 'sms'
  | 'limiter'
  | 'accounts'
  | 'audit'
  | 'metrics'
  | 'flowStates'
>;

/** 短信验证码登录: a code to a registered phone. It still works while the password path is locked. */
export const smsMethod: LoginMethod = {
  id: 'sms',
  tab: 'natural',
  form: { label: '短信验证码登录', view: '_method-sms', query: 'sms' },
  routes: (router, deps) => smsRoutes(router, deps),
};

/** 获取验证码 sends to the phone after the captcha; 登录 checks the code sent to it. */
const sendCodeForm = z.object({ phone: phoneField, captcha: captchaField });
const smsLoginForm = z.object({ phone: phoneField, sms_code: smsCodeField });

const smsTarget = (input: string) => {
  const phone = parseMainlandMobile(input);
  return phone.ok ? `login:${phone.e164}` : undefined;
};

function smsRoutes(router: Router, deps: Deps) {
  router.post('/interaction/:uid/login-sms', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const phoneInput = field(ctx, 'phone');
    const page = {
      ...(await deps.loginPage.data(ctx, interaction, 'sms')),
      phone: phoneInput,
      ...(await codeSentTo(deps.flowStates, interaction.uid, smsTarget(phoneInput))),
    };
    return withPageErrors(ctx, deps, 'login', page, async () => {
      const sending = formInput(ctx, actionForm).action === 'send_sms';
      const input = sending ? formInput(ctx, sendCodeForm) : formInput(ctx, smsLoginForm);
      const phone = parseMainlandMobile(input.phone);
      if (!phone.ok) throw new BadInput(phone.message);
      const account = await deps.accounts.findByPhone(phone.e164);

      if ('captcha' in input) {
        await deps.captcha.check(browserId(ctx), input.captcha);
        // Only registered numbers get a message; the answer, waits and limits are the same either way.
        await deps.sms.sendToAccountHolder({ phone: phone.e164, purpose: 'login', ip: ctx.ip });
        return answerPageCodeSent(ctx, deps, interaction, 'login', page, {
          target: `login:${phone.e164}`,
          notice: `如该手机号已注册，${codeSentNotice(phone.e164)}`,
        });
      }

      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.sms.verify({
        phone: phone.e164,
        purpose: 'login',
        code: input.sms_code,
        ip: ctx.ip,
      });
      if (!account) throw new LoginFailed();
      const next = await completeLogin(deps, ctx, interaction, {
        accountId: account.id,
        verified: ['sms'],
        method: 'sms',
      });
      const lockedUntil = account.password_locked_until ? new Date(account.password_locked_until) : undefined;
      if (next !== secondFactorPath(interaction.uid) && lockedUntil && lockedUntil.getTime() > Date.now()) {
        // Told only now, after the SMS code proved the person holds the phone.
        return renderPage(ctx, deps, 'notice', {
          title: '密码登录已锁定',
          message: `由于连续多次输错密码，您账号的密码登录已锁定至 ${lockedUntil.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}。本次短信验证码登录不受影响；您也可以通过“忘记密码”重置密码。`,
          continueUrl: next,
        });
      }
      continueTo(ctx, next);
    });
  });
}
