import type Router from '@koa/router';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { BadInput, SmsCodeWrong } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import { browserId } from '../http/browser-id.js';
import { auditEvent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';

/**
 * 忘记密码: phone + image captcha → SMS code → new password twice. Every session and token of
 * the account ends, and the sites in those sessions are told by back-channel logout.
 */
export function recoveryRoutes(router: Router, deps: FlowDeps) {
  router.get('/interaction/:uid/forgot', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    renderPage(ctx, deps, 'forgot', { title: '找回密码', uid: interaction.uid });
  });

  router.post('/interaction/:uid/forgot', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const phoneInput = field(ctx, 'phone');
    const page: Record<string, unknown> = { title: '找回密码', uid: interaction.uid, phone: phoneInput };
    return withPageErrors(ctx, deps, 'forgot', page, async () => {
      const phone = parseMainlandMobile(phoneInput);
      if (!phone.ok) throw new BadInput(phone.message);
      const account = await deps.accounts.findByPhone(phone.e164);

      if (field(ctx, 'action') === 'send_sms') {
        await deps.captcha.check(browserId(ctx), field(ctx, 'captcha'));
        await deps.sms.sendToAccountHolder({ phone: phone.e164, purpose: 'reset_password', ip: ctx.ip });
        return renderPage(ctx, deps, 'forgot', {
          ...page,
          smsSent: true,
          notice: `如该手机号已注册，验证码已发送至 ${maskPhone(phone.e164)}，5分钟内有效`,
        });
      }

      page['smsSent'] = true;
      const password = rawField(ctx, 'password');
      if (password !== rawField(ctx, 'password_confirm')) throw new BadInput('两次输入的密码不一致');
      await deps.sms.verify({
        phone: phone.e164,
        purpose: 'reset_password',
        code: field(ctx, 'sms_code'),
        ip: ctx.ip,
      });
      if (!account) throw new SmsCodeWrong();
      await deps.accounts.setPassword(account.id, password);
      const ended = await deps.revoker.revokeAll(account.id);
      await auditEvent(deps, ctx, {
        type: 'password_reset',
        method: 'sms',
        outcome: 'success',
        accountId: account.id,
        detail: { sessionsEnded: ended },
      });
      ctx.redirect(`/interaction/${interaction.uid}?reset=1`);
    });
  });
}
