import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { parseMainlandMobile } from '../accounts/phone.js';
import {
  CONFIRMATION_RULES,
  type PendingLegalRegistration,
} from '../accounts/representative-confirmation.js';
import { FormInvalid, SessionExpired } from '../errors.js';
import { isLegalType, LEGAL_TYPES, type LegalType } from '../identifiers/credit-code.js';
import { field, parseBody } from '../web/body.js';
import { browserId } from '../web/browser-id.js';
import { AGREE_TO_TERMS, PASSWORDS_DIFFER } from '../web/field-marks.js';
import {
  actionForm,
  captchaField,
  checkboxField,
  creditCodeField,
  idNumberField,
  phoneField,
  secretField,
  smsCodeField,
  textField,
} from '../web/form-fields.js';
import { FormProblems, formInput } from '../web/page-kit.js';
import { codeSentNotice, codeSentTo, judgeRegisterCodeLast } from './code-sending.js';
import { answerPageCodeSent, auditEvent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';

const legalTypes = Object.entries(LEGAL_TYPES).map(([value, info]) => ({ value, label: info.label }));

/** 获取验证码 (to the contact phone) needs the phone and the captcha; 下一步 the whole form. */
const sendCodeForm = z.object({ phone: phoneField, captcha: captchaField });
const legalForm = z.object({
  legal_type: textField(64, '请选择法人类型'),
  org_name: textField(500, '请输入正确的机构名称'),
  credit_code: creditCodeField,
  representative_name: textField(200, '请输入法定代表人姓名'),
  representative_id_number: idNumberField,
  phone: phoneField,
  password: secretField,
  password_confirm: secretField,
  agree: checkboxField,
  sms_code: smsCodeField,
});

/** The service's names for the fields it judges (LegalPersonService.check), as the form names them. */
const SERVICE_FIELDS = {
  orgName: 'org_name',
  creditCode: 'credit_code',
  password: 'password',
  representativeName: 'representative_name',
  representativeIdNumber: 'representative_id_number',
};

const confirmForm = z.object({
  sms_code: z.string().regex(/^\d{6}$/, '请输入6位短信验证码'),
});

/**
 * 法人用户注册, in two steps. First the enterprise's type, name, credit code, representative,
 * password, and its contact phone proven by SMS (the captcha before that code): only then is the
 * representative's name and ID number looked at. Then 法定代表人确认: a code to the phone of the
 * representative's own real-name account; the account is created after it, then 绑定证书 or
 * 跳过此步骤.
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
      const sending = formInput(ctx, actionForm).action === 'send_sms';
      const input = sending
        ? formInput(ctx, sendCodeForm)
        : formInput(ctx, legalForm, ['password', 'password_confirm']);
      if ('captcha' in input) {
        const phone = parsedPhone;
        if (!phone.ok) throw FormInvalid.field('phone', phone.message);
        await deps.captcha.check(browserId(ctx), input.captcha);
        await deps.sms.send({ phone: phone.e164, purpose: 'register', ip: ctx.ip });
        return answerPageCodeSent(ctx, deps, interaction, 'register-legal', page, {
          target: `register:${phone.e164}`,
          notice: codeSentNotice(phone.e164),
        });
      }
      // Every field is judged before anything is refused, so one submit tells all its problems.
      const problems = new FormProblems(Object.keys(legalForm.shape));
      const phone = problems.parsed('phone', parsedPhone);
      const { password } = input;
      // Forms only: nothing about the representative is looked at before the contact phone's code.
      const checked = isLegalType(form.legalType)
        ? await problems.fields(SERVICE_FIELDS, () =>
            deps.legalPersons.check({
              ...form,
              legalType: form.legalType as LegalType,
              contactPhone: phone?.e164 ?? '',
              password,
            }),
          )
        : problems.add('legal_type', '请选择法人类型');
      if (password !== input.password_confirm) problems.add('password_confirm', PASSWORDS_DIFFER);
      if (!page['agreed']) problems.add('agree', AGREE_TO_TERMS);
      await judgeRegisterCodeLast(problems, deps.sms, page, {
        phone: phone?.e164,
        code: input.sms_code,
        ip: ctx.ip,
      });
      if (!checked) return;
      const pending = await deps.representativeConfirmations.begin(checked, ctx.ip);
      await deps.flowStates.put('legal-confirm', interaction.uid, pending);
      // The representative's 登录记录 shows every request in their name, confirmed or not.
      if (pending.representative)
        await auditEvent(deps, ctx, {
          type: 'legal_representative_requested',
          method: 'legal_person',
          outcome: 'info',
          accountId: pending.representative.accountId,
          detail: { creditCode: checked.creditCode },
        });
      ctx.redirect(`/interaction/${interaction.uid}/register/legal/confirm`);
    });
  });

  const confirmPage = (uid: string, pending: PendingLegalRegistration) => ({
    title: '法定代表人确认',
    uid,
    maskedPhone: pending.maskedPhone,
    orgName: pending.registration.orgName,
    resendAfterSeconds: Math.max(
      0,
      Math.ceil((pending.sentAt + CONFIRMATION_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000),
    ),
    smsSent: true,
  });

  const pendingOf = async (uid: string) => {
    const pending = await deps.flowStates.get('legal-confirm', uid);
    if (!pending) throw new SessionExpired();
    return pending;
  };

  router.get('/interaction/:uid/register/legal/confirm', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const pending = await deps.flowStates.get('legal-confirm', interaction.uid);
    if (!pending) return ctx.redirect(`/interaction/${interaction.uid}/register/legal`);
    renderPage(ctx, deps, 'register-legal-confirm', confirmPage(interaction.uid, pending));
  });

  router.post('/interaction/:uid/register/legal/confirm', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const pending = await deps.flowStates.get('legal-confirm', interaction.uid);
    if (!pending) return ctx.redirect(`/interaction/${interaction.uid}/register/legal`);
    const page = confirmPage(interaction.uid, pending);
    return withPageErrors(ctx, deps, 'register-legal-confirm', page, async () => {
      if (formInput(ctx, actionForm).action === 'send_sms') {
        const sent = await deps.representativeConfirmations.send(await pendingOf(interaction.uid), ctx.ip);
        await deps.flowStates.put('legal-confirm', interaction.uid, sent);
        return renderPage(ctx, deps, 'register-legal-confirm', confirmPage(interaction.uid, sent));
      }
      await confirm(ctx, interaction.uid, pending);
    });
  });

  async function confirm(ctx: Context, uid: string, pending: PendingLegalRegistration) {
    const { sms_code: code } = formInput(ctx, confirmForm);
    // The entry is counted before it is checked, so a refused one is never free.
    await deps.flowStates.put('legal-confirm', uid, { ...pending, entries: pending.entries + 1 });
    const { accountId, representativeAccountId } = await deps.representativeConfirmations.confirm(
      pending,
      code,
      ctx.ip,
    );
    await deps.flowStates.remove('legal-confirm', uid);
    const detail = { creditCode: pending.registration.creditCode, orgName: pending.registration.orgName };
    await auditEvent(deps, ctx, {
      type: 'registration',
      method: 'legal_person',
      outcome: 'success',
      accountId,
      detail,
    });
    // On the representative's own account too: their 登录记录 shows what was done in their name.
    await auditEvent(deps, ctx, {
      type: 'legal_representative_confirmed',
      method: 'sms',
      outcome: 'success',
      accountId: representativeAccountId,
      detail: { ...detail, enterpriseAccountId: accountId },
    });
    await deps.flowStates.put('legal-register', uid, { accountId });
    ctx.redirect(`/interaction/${uid}/cert/bind`);
  }
}
