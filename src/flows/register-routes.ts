import type Router from '@koa/router';
import { z } from 'zod';
import { checkPassword } from '../accounts/password-policy.js';
import { parseMainlandMobile } from '../accounts/phone.js';
import { FormInvalid } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { browserId } from '../web/browser-id.js';
import { AGREE_TO_TERMS, PASSWORDS_DIFFER } from '../web/field-marks.js';
import {
  actionForm,
  captchaField,
  checkboxField,
  phoneField,
  secretField,
  smsCodeField,
} from '../web/form-fields.js';
import { FormProblems, formInput } from '../web/page-kit.js';
import { codeSentNotice, codeSentTo, judgeRegisterCodeLast } from './code-sending.js';
import { answerPageCodeSent, auditEvent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { clientNameOf, interactionOf } from './interaction.js';

/** 获取验证码 needs the phone and the captcha; 注册 the rest (its checks, in order, stay below). */
const sendCodeForm = z.object({ phone: phoneField, captcha: captchaField });
const registerForm = z.object({
  phone: phoneField,
  password: secretField,
  password_confirm: secretField,
  agree: checkboxField,
  sms_code: smsCodeField,
});

/** 注册: 自然人用户 with phone, password, image captcha and SMS code; then 实名认证 or 跳过. */
export function registerRoutes(router: Router, deps: FlowDeps) {
  router.get('/interaction/:uid/register', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    renderPage(ctx, deps, 'register-choose', {
      title: '注册',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
    });
  });

  router.get('/interaction/:uid/register/person', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    renderPage(ctx, deps, 'register', { title: '自然人用户注册', uid: interaction.uid });
  });

  router.post('/interaction/:uid/register/person', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const phoneInput = field(ctx, 'phone');
    const parsed = parseMainlandMobile(phoneInput);
    const target = parsed.ok ? `register:${parsed.e164}` : undefined;
    // An error shows everything typed again but the passwords (and the SMS code once it failed).
    const page: Record<string, unknown> = {
      title: '自然人用户注册',
      uid: interaction.uid,
      phone: phoneInput,
      agreed: field(ctx, 'agree') === 'yes',
      smsCode: field(ctx, 'sms_code'),
      ...(await codeSentTo(deps.flowStates, interaction.uid, target)),
    };
    return withPageErrors(ctx, deps, 'register', page, async () => {
      if (formInput(ctx, actionForm).action === 'send_sms') {
        const { captcha } = formInput(ctx, sendCodeForm);
        if (!parsed.ok) throw FormInvalid.field('phone', parsed.message);
        const phone = parsed;
        await deps.captcha.check(browserId(ctx), captcha);
        // A number that already has an account gets a notice instead; the page answers the same.
        await deps.sms.sendForNewAccount({ phone: phone.e164, ip: ctx.ip });
        return answerPageCodeSent(ctx, deps, interaction, 'register', page, {
          target: `register:${phone.e164}`,
          notice: codeSentNotice(phone.e164),
        });
      }

      const input = formInput(ctx, registerForm, ['password', 'password_confirm']);
      // Every field is judged before anything is refused, so one submit tells all its problems.
      const problems = new FormProblems([
        'phone',
        'password',
        'password_confirm',
        'captcha',
        'sms_code',
        'agree',
      ]);
      const phone = problems.parsed('phone', parsed);
      const { password } = input;
      const rule = checkPassword(password, phone ? { phone: phone.national } : {});
      if (!rule.ok) problems.add('password', rule.message);
      if (password !== input.password_confirm) problems.add('password_confirm', PASSWORDS_DIFFER);
      if (!page['agreed']) problems.add('agree', AGREE_TO_TERMS);
      // The SMS code proves the phone before anything about its account is said or written.
      await judgeRegisterCodeLast(problems, deps.sms, page, {
        phone: phone?.e164,
        code: input.sms_code,
        ip: ctx.ip,
      });
      if (!phone) return;
      const account = await deps.accounts.addCitizen({ phone: phone.e164, password });
      await deps.flowStates.put('register', interaction.uid, { accountId: account.id });
      await auditEvent(deps, ctx, {
        type: 'registration',
        method: 'sms',
        outcome: 'success',
        accountId: account.id,
      });
      ctx.redirect(`/interaction/${interaction.uid}/realname`);
    });
  });

  router.get('/agreement', (ctx) => {
    renderPage(ctx, deps, 'agreement', { title: '用户注册协议' });
  });
}
