import type Router from '@koa/router';
import { isLegalType, LEGAL_TYPES } from '../accounts/credit-code.js';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { BadInput } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import { browserId } from '../http/browser-id.js';
import { answerCodeSent, codeSentTo } from './code-sending.js';
import { auditEvent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';

const legalTypes = Object.entries(LEGAL_TYPES).map(([value, info]) => ({ value, label: info.label }));

/**
 * 法人用户注册: the enterprise's type, name and credit code under a verified representative,
 * the representative's phone proven by SMS; then 绑定证书 or 跳过此步骤.
 */
export function legalRegisterRoutes(router: Router, deps: FlowDeps) {
  router.get('/interaction/:uid/register/legal', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    renderPage(ctx, deps, 'register-legal', { title: '法人用户注册', uid: interaction.uid, legalTypes });
  });

  router.post('/interaction/:uid/register/legal', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const form = {
      legalType: field(ctx, 'legal_type'),
      orgName: field(ctx, 'org_name'),
      creditCode: field(ctx, 'credit_code'),
      representativeName: field(ctx, 'representative_name'),
      representativeIdNumber: field(ctx, 'representative_id_number'),
      phone: field(ctx, 'phone'),
    };
    const parsedPhone = parseMainlandMobile(form.phone);
    const target = parsedPhone.ok ? `register:${parsedPhone.e164}` : undefined;
    // An error shows everything typed again but the passwords (and the SMS code once it failed).
    const page: Record<string, unknown> = {
      title: '法人用户注册',
      uid: interaction.uid,
      legalTypes,
      ...form,
      agreed: field(ctx, 'agree') === 'yes',
      smsCode: field(ctx, 'sms_code'),
      ...(await codeSentTo(deps.flowStates, interaction.uid, target)),
    };
    return withPageErrors(ctx, deps, 'register-legal', page, async () => {
      const phone = parsedPhone;
      if (!phone.ok) throw new BadInput(phone.message);
      if (field(ctx, 'action') === 'send_sms') {
        await deps.captcha.check(browserId(ctx), field(ctx, 'captcha'));
        await deps.sms.send({ phone: phone.e164, purpose: 'register', ip: ctx.ip });
        return answerCodeSent(
          ctx,
          deps.flowStates,
          {
            scope: interaction.uid,
            target: `register:${phone.e164}`,
            notice: `验证码已发送至 ${maskPhone(phone.e164)}，5分钟内有效`,
          },
          (sent) => renderPage(ctx, deps, 'register-legal', { ...page, ...sent }),
        );
      }
      if (!isLegalType(form.legalType)) throw new BadInput('请选择法人类型');
      const password = rawField(ctx, 'password');
      if (password !== rawField(ctx, 'password_confirm')) throw new BadInput('两次输入的密码不一致');
      const registration = { ...form, legalType: form.legalType, contactPhone: phone.e164, password };
      if (!page['agreed']) throw new BadInput('请阅读并同意《用户注册协议》');
      const checked = await deps.legalPersons.check(registration);
      await deps.sms
        .verify({ phone: phone.e164, purpose: 'register', code: field(ctx, 'sms_code'), ip: ctx.ip })
        .catch((err: unknown) => {
          page['smsCode'] = '';
          throw err;
        });
      const accountId = await deps.legalPersons.register(registration, checked);
      await auditEvent(deps, ctx, {
        type: 'registration',
        method: 'legal_person',
        outcome: 'success',
        accountId,
        detail: { creditCode: checked.creditCode },
      });
      await deps.flowStates.put('legal-register', interaction.uid, { accountId });
      ctx.redirect(`/interaction/${interaction.uid}/cert/bind`);
    });
  });
}
