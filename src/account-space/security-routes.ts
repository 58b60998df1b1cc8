import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { AppError, BadInput, Conflict, PasswordWrong } from '../errors.js';
import { answerCodeSent, codeSentNotice, codeSentTo } from '../flows/code-sending.js';
import { field } from '../web/body.js';
import { browserId } from '../web/browser-id.js';
import { PASSWORDS_DIFFER } from '../web/field-marks.js';
import {
  actionField,
  captchaField,
  checkboxField,
  idNumberField,
  phoneField,
  realNameField,
  secretField,
  smsCodeField,
  totpCodeField,
} from '../web/form-fields.js';
import { FormProblems, formInput } from '../web/page-kit.js';
import { type AccountPageDeps, type AccountSpaceDeps, accountAudit } from './account-context.js';
import { act, sessionOf, show } from './account-page.js';
import { alipayPart, alipaySpaceRoutes } from './alipay-routes.js';

const CHANGED: Record<string, string> = { alipay_unlinked: '已解除与支付宝账户的绑定' };

const passwordForm = z.object({
  current_password: secretField,
  new_password: secretField,
  new_password_confirm: secretField,
});
/** 获取验证码 for the old phone (`which` old) or for the new one (with the captcha). */
const sendForm = z.object({ which: actionField });
const newPhoneSendForm = z.object({ new_phone: phoneField, captcha: captchaField });
/** The change itself: both codes, or (old phone lost) the password and the real-name check. */
const phoneForm = z.object({
  new_phone: phoneField,
  old_phone_lost: checkboxField,
  old_code: smsCodeField,
  new_code: smsCodeField,
  phone_password: secretField,
  real_name: realNameField,
  id_number: idNumberField,
});
const passwordAgainForm = z.object({ password: secretField });
const totpForm = z.object({ code: totpCodeField });

const passwordWrong = () => new PasswordWrong('当前密码错误');

/** 安全设置: change password, change phone, 两步验证 (TOTP) on and off. */
export function securityRoutes(
  router: Router,
  deps: AccountPageDeps &
    Pick<AccountSpaceDeps, 'revoker' | 'sms' | 'totp' | 'alipay' | 'captcha' | 'phoneChanges' | 'flowStates'>,
) {
  // 更换手机号 counts down each 获取验证码 from when its code went, per phone: the old one, and the
  // new number as typed (a code to another number does not hold this one back).
  const oldTarget = (ctx: Context) => `phone-old:${sessionOf(ctx).smsPhone}`;
  const newTarget = (ctx: Context) => {
    const phone = parseMainlandMobile(field(ctx, 'new_phone'));
    return phone.ok ? `phone-new:${phone.e164}` : undefined;
  };
  const codeScope = (ctx: Context, which: 'old' | 'new') => `${sessionOf(ctx).sessionUid}:${which}`;

  // Shown again after an answer: everything typed but the password.
  const page =
    (ctx: Context, extra: Record<string, unknown> = {}) =>
    async () => ({
      title: '安全设置',
      captchaUrl: `/captcha?t=${Date.now()}`,
      recoveryLeft: await deps.totp.unusedRecoveryCodes(sessionOf(ctx).account.id),
      newPhone: field(ctx, 'new_phone'),
      oldCode: field(ctx, 'old_code'),
      newCode: field(ctx, 'new_code'),
      oldPhoneLost: field(ctx, 'old_phone_lost') === 'yes',
      phoneRealName: field(ctx, 'real_name'),
      phoneIdNumber: field(ctx, 'id_number'),
      oldSent: await codeSentTo(deps.flowStates, codeScope(ctx, 'old'), oldTarget(ctx)),
      newSent: await codeSentTo(deps.flowStates, codeScope(ctx, 'new'), newTarget(ctx)),
      ...(await alipayPart(deps, sessionOf(ctx).account)),
      ...extra,
    });

  router.get('/security', async (ctx) =>
    show(ctx, deps, 'account-security', {
      ...(await page(ctx)()),
      notice: ctx.query['changed'] ? (CHANGED[String(ctx.query['changed'])] ?? '修改成功') : undefined,
    }),
  );

  // Changing the password signs every other session out, and their sites are told.
  router.post('/security/password', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      const input = formInput(ctx, passwordForm, [
        'current_password',
        'new_password',
        'new_password_confirm',
      ]);
      // All three fields judged before any is refused: one submit tells every problem.
      const problems = new FormProblems();
      if (!(await deps.accounts.checkPasswordOf(session.account, input.current_password))) {
        await accountAudit(deps, ctx, session, { type: 'password_change', outcome: 'failure' });
        problems.add('current_password', passwordWrong().userMessage);
      }
      const next = input.new_password;
      const rule = await deps.accounts.passwordRuleFor(session.account.id, next);
      if (!rule.ok) problems.add('new_password', rule.message);
      if (next !== input.new_password_confirm) problems.add('new_password_confirm', PASSWORDS_DIFFER);
      problems.throwIfAny();
      await deps.accounts.setPassword(session.account.id, next);
      const ended = await deps.revoker.revokeSessions(
        session.account.id,
        (uid) => uid !== session.sessionUid,
      );
      await accountAudit(deps, ctx, session, {
        type: 'password_change',
        outcome: 'success',
        detail: { sessionsEnded: ended },
      });
      ctx.redirect('/account/security?changed=password');
    });
  });

  // Change of phone: codes to the old and the new phone; with the old one lost, real-name re-verification instead.
  router.post('/security/phone/send', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      const which = formInput(ctx, sendForm).which === 'new' ? 'new' : 'old';
      let target = session.smsPhone;
      if (which === 'new') {
        const input = formInput(ctx, newPhoneSendForm);
        const phone = parseMainlandMobile(input.new_phone);
        if (!phone.ok) throw new BadInput(phone.message);
        target = phone.e164;
        // A stranger's number: the captcha, and a daily count per account, before any message.
        await deps.captcha.check(browserId(ctx), input.captcha);
        await deps.sms.sendToNewPhone({ phone: target, accountId: session.account.id, ip: ctx.ip });
      } else {
        await deps.sms.send({ phone: target, purpose: 'account', ip: ctx.ip });
      }
      await answerCodeSent(
        ctx,
        deps.flowStates,
        {
          scope: codeScope(ctx, which),
          target: which === 'new' ? newTarget(ctx)! : oldTarget(ctx),
          notice: codeSentNotice(target),
        },
        async ({ notice }) => show(ctx, deps, 'account-security', { ...(await page(ctx)()), notice }),
      );
    });
  });

  router.post('/security/phone', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      const input = formInput(ctx, phoneForm, ['phone_password']);
      const problems = new FormProblems();
      const phone = problems.parsed('new_phone', parseMainlandMobile(input.new_phone));
      const withoutOldPhone = input.old_phone_lost === 'yes';
      if (withoutOldPhone && phone) {
        await deps.phoneChanges
          .proveWithoutOldPhone(session.account, {
            password: input.phone_password,
            realName: input.real_name,
            idNumber: input.id_number,
          })
          .catch(async (err: unknown) => {
            // Every refused try is on the account's 登录记录 (the old phone has had its notice).
            if (err instanceof AppError)
              await accountAudit(deps, ctx, session, {
                type: 'phone_change',
                outcome: 'failure',
                method: 'identity',
                detail: { reason: err.code },
              });
            throw err;
          });
      }
      // Both codes are compared before either is used up, so a wrong one leaves the right one
      // for the next submit; each entry counts as verify counts it.
      const codes = [
        ...(withoutOldPhone
          ? []
          : [{ fieldName: 'old_code', phone: session.smsPhone, code: input.old_code }]),
        ...(phone ? [{ fieldName: 'new_code', phone: phone.e164, code: input.new_code }] : []),
      ].map(({ fieldName, ...entry }) => ({
        fieldName,
        entry: { ...entry, purpose: 'account' as const, ip: ctx.ip },
      }));
      for (const { fieldName, entry } of codes) await problems.check(fieldName, () => deps.sms.check(entry));
      problems.throwIfAny();
      for (const { fieldName, entry } of codes) await problems.check(fieldName, () => deps.sms.verify(entry));
      problems.throwIfAny();
      if (!phone) return;
      if (await deps.accounts.findByPhone(phone.e164))
        throw new Conflict('该手机号已被其他账号使用', 'phone_taken');
      await deps.accounts.changePhone(session.account.id, phone.e164);
      await accountAudit(deps, ctx, session, {
        type: 'phone_change',
        outcome: 'success',
        method: withoutOldPhone ? 'identity' : 'sms',
        detail: { phone: maskPhone(phone.e164) },
      });
      if (withoutOldPhone) await deps.phoneChanges.changed(session.account);
      ctx.redirect('/account/security?changed=phone');
    });
  });

  // Turning 两步验证 on, off, or new recovery codes: the password again first, so an unattended
  // session can not change how the account is protected.
  const passwordAgain = async (session: ReturnType<typeof sessionOf>, ctx: Context) => {
    const { password } = formInput(ctx, passwordAgainForm, ['password']);
    if (!(await deps.accounts.checkPasswordOf(session.account, password))) {
      throw passwordWrong();
    }
  };

  router.post('/security/totp/start', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      await passwordAgain(session, ctx);
      const enrolment = await deps.totp.beginEnrolment(session.account.id, maskPhone(session.smsPhone));
      show(ctx, deps, 'account-totp', {
        title: '开启两步验证',
        qrDataUrl: enrolment.qrDataUrl,
        secret: enrolment.secret,
      });
    });
  });

  router.post('/security/totp/recovery-codes', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      if (!session.account.totp_enabled_at) throw new BadInput('两步验证未开启');
      await passwordAgain(session, ctx);
      const codes = await deps.totp.regenerateRecoveryCodes(session.account.id);
      await accountAudit(deps, ctx, session, { type: 'totp_recovery_codes', outcome: 'success' });
      show(ctx, deps, 'account-totp', { title: '重新生成恢复码', recoveryCodes: codes, regenerated: true });
    });
  });

  router.post('/security/totp/confirm', async (ctx) => {
    const session = sessionOf(ctx);
    try {
      const codes = await deps.totp.confirmEnrolment(session.account.id, formInput(ctx, totpForm).code);
      await accountAudit(deps, ctx, session, { type: 'totp_enabled', outcome: 'success' });
      show(ctx, deps, 'account-totp', { title: '两步验证已开启', recoveryCodes: codes });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // A wrong first code: a fresh secret, so a half-seen one is never kept.
      const enrolment = await deps.totp.beginEnrolment(session.account.id, maskPhone(session.smsPhone));
      ctx.status = err.status;
      show(ctx, deps, 'account-totp', {
        title: '开启两步验证',
        qrDataUrl: enrolment.qrDataUrl,
        secret: enrolment.secret,
        error: err.userMessage,
      });
    }
  });

  router.post('/security/totp/disable', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      await passwordAgain(session, ctx);
      await deps.totp.check(session.account, formInput(ctx, totpForm).code);
      await deps.totp.disable(session.account.id);
      await accountAudit(deps, ctx, session, { type: 'totp_disabled', outcome: 'success' });
      ctx.redirect('/account/security?changed=totp');
    });
  });

  alipaySpaceRoutes(router, deps, page);
}
