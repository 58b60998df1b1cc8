import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountRow } from '../accounts/account-store.js';
import { PASSWORD_RULE } from '../accounts/password-policy.js';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { BadInput, ResendTooSoon, SmsCodeWrong } from '../errors.js';
import { parseCreditCode } from '../identifiers/credit-code.js';
import type { FlowStateOf } from '../state/flow-state.js';
import { SMS_RULES } from '../verification/sms-code-service.js';
import { field, parseBody } from '../web/body.js';
import { browserId } from '../web/browser-id.js';
import { PASSWORDS_DIFFER } from '../web/field-marks.js';
import {
  actionForm,
  captchaField,
  creditCodeField,
  phoneField,
  secretField,
  smsCodeField,
} from '../web/form-fields.js';
import { FormProblems, formInput } from '../web/page-kit.js';
import { auditEvent, type FlowDeps, renderPage, withPageErrors } from './flow-kit.js';
import { interactionOf } from './interaction.js';

type Kind = 'person' | 'legal';

/** Step 1: who (a 自然人's phone, or a 法人's credit code) and the captcha. */
const personForm = z.object({ phone: phoneField, captcha: captchaField });
const legalForm = z.object({ credit_code: creditCodeField, captcha: captchaField });
/** Step 2: the SMS code (重新发送 needs nothing). Step 3: the new password twice. */
const codeForm = z.object({ sms_code: smsCodeField });
const passwordForm = z.object({ password: secretField, password_confirm: secretField });

/**
 * One 忘记密码 of one interaction (flow state `forgot`, declared in src/state/flow-state.ts), kept
 * server-side so every step is a GET page that can be reloaded and a wrong new password never
 * costs the SMS code; the verified SMS step lasts the state's ten minutes.
 */
type RecoveryState = FlowStateOf<'forgot'>;

/** What a credit code that names no account counts its sends and waits on (never delivered to). */
const standIn = (creditCode: string) => `credit-code:${creditCode}`;

const STEPS = ['验证账号', '短信验证', '设置新密码'];

/** After 忘记密码: which tab of the login page opens, and the login to fill in. */
export async function recoveredLogin(
  deps: Pick<FlowDeps, 'flowStates'>,
  uid: string,
): Promise<{ tab: 'password' | 'legal'; login: string } | undefined> {
  const state = await deps.flowStates.get('forgot', uid);
  if (state?.step !== 'done') return undefined;
  return { tab: state.kind === 'legal' ? 'legal' : 'password', login: state.login };
}

/**
 * 忘记密码 in the guide's steps: 手机号码 (自然人) or 统一社会信用代码 (法人) + 图片验证码 → 下一步 →
 * 短信验证码 → 下一步 → 新密码 → 下一步. A 法人's code goes to its contact phone (the
 * representative's); the 自然人 path only ever finds natural persons. Every session and token of
 * the account ends, and the sites in those sessions are told by back-channel logout.
 */
export function recoveryRoutes(router: Router, deps: FlowDeps) {
  const base = (uid: string) => `/interaction/${uid}/forgot`;
  const kindOf = (ctx: Context): Kind => (ctx.query['tab'] === 'legal' ? 'legal' : 'person');
  const pageOf = (uid: string, kind: Kind, step: number) => ({
    title: kind === 'legal' ? '法人用户找回密码' : '找回密码',
    uid,
    kind,
    steps: STEPS,
    step,
    passwordRule: PASSWORD_RULE,
  });
  const stateOf = (uid: string) => deps.flowStates.get('forgot', uid);

  router.get('/interaction/:uid/forgot', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    renderPage(ctx, deps, 'forgot', pageOf(interaction.uid, kindOf(ctx), 1));
  });

  // Step 1: who, and the captcha; the code is sent (or, for an unknown login, silently not).
  router.post('/interaction/:uid/forgot', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const kind = kindOf(ctx);
    const typed = kind === 'legal' ? field(ctx, 'credit_code') : field(ctx, 'phone');
    const page = {
      ...pageOf(interaction.uid, kind, 1),
      ...(kind === 'legal' ? { creditCode: typed } : { phone: typed }),
    };
    return withPageErrors(ctx, deps, 'forgot', page, async () => {
      const { captcha } = kind === 'legal' ? formInput(ctx, legalForm) : formInput(ctx, personForm);
      // Both fields are judged before either is refused: one submit tells both problems.
      const problems = new FormProblems();
      const found = await problems.check(kind === 'legal' ? 'credit_code' : 'phone', () =>
        findAccount(deps, kind, typed),
      );
      await problems.check('captcha', () => deps.captcha.check(browserId(ctx), captcha));
      problems.throwIfAny();
      if (!found) return;
      const { login, account } = found;
      // The same waits, limits and answer whether or not the login names an account: a 自然人's
      // own phone, a 法人's contact phone, or for an unknown credit code a stand-in key.
      const phone = account ? await deps.accounts.smsPhoneOf(account) : undefined;
      const sendTo = phone ?? (kind === 'legal' ? standIn(login) : `+86${login}`);
      // A code sent moments ago (going back, a second tab) is still valid: the person goes on to
      // type it instead of being stopped here with a spent captcha. Unknown logins wait the same.
      const earlier = await deps.sms
        .sendToAccountHolder({
          phone: sendTo,
          purpose: 'reset_password',
          ip: ctx.ip,
          holder: Boolean(phone && account),
        })
        .then(
          () => undefined,
          (err: unknown) => {
            if (err instanceof ResendTooSoon) return err.sentAt;
            throw err;
          },
        );
      const state: RecoveryState = {
        kind,
        login,
        sendTo,
        ...(phone && account ? { accountId: account.id } : {}),
        sentAt: earlier ?? Date.now(),
        ...(earlier ? { earlier: true } : {}),
        step: 'code',
      };
      await deps.flowStates.put('forgot', interaction.uid, state);
      ctx.status = 303;
      ctx.redirect(`${base(interaction.uid)}/code`);
    });
  });

  const codePage = (uid: string, state: RecoveryState) => ({
    ...pageOf(uid, state.kind, 2),
    destination: state.kind === 'legal' ? '该法人账号登记的联系手机' : maskPhone(`+86${state.login}`),
    earlier: state.earlier ?? false,
    resendAfterSeconds: Math.max(
      0,
      Math.ceil((state.sentAt + SMS_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000),
    ),
  });

  // Step 2: the SMS code.
  router.get('/interaction/:uid/forgot/code', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const state = await stateOf(interaction.uid);
    if (state?.step !== 'code') return ctx.redirect(base(interaction.uid));
    renderPage(ctx, deps, 'forgot', codePage(interaction.uid, state));
  });

  router.post('/interaction/:uid/forgot/code', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const state = await stateOf(interaction.uid);
    if (state?.step !== 'code') return ctx.redirect(base(interaction.uid));
    const page = codePage(interaction.uid, state);
    return withPageErrors(ctx, deps, 'forgot', page, async () => {
      if (formInput(ctx, actionForm).action === 'resend') {
        // The captcha was passed for this login in step 1; the interval and daily limits still hold.
        if (state.sendTo) {
          await deps.sms.sendToAccountHolder({
            phone: state.sendTo,
            purpose: 'reset_password',
            ip: ctx.ip,
            holder: Boolean(state.accountId),
          });
        }
        await deps.flowStates.put('forgot', interaction.uid, { ...state, sentAt: Date.now() });
        ctx.status = 303;
        return ctx.redirect(`${base(interaction.uid)}/code`);
      }
      // An unknown login's code is checked like any other (its stand-in row's code was never
      // told to anyone), so wrong entries count the same.
      const { sms_code: code } = formInput(ctx, codeForm);
      if (!state.sendTo) throw new SmsCodeWrong();
      await deps.sms.verify({
        phone: state.sendTo,
        purpose: 'reset_password',
        code,
        ip: ctx.ip,
      });
      if (!state.accountId) throw new SmsCodeWrong();
      await deps.flowStates.put('forgot', interaction.uid, { ...state, step: 'password' });
      ctx.status = 303;
      ctx.redirect(`${base(interaction.uid)}/password`);
    });
  });

  // Step 3: the new password; a refused one shows this step again, the verified code still good.
  router.get('/interaction/:uid/forgot/password', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const state = await stateOf(interaction.uid);
    if (state?.step !== 'password') return ctx.redirect(base(interaction.uid));
    renderPage(ctx, deps, 'forgot', pageOf(interaction.uid, state.kind, 3));
  });

  router.post('/interaction/:uid/forgot/password', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const state = await stateOf(interaction.uid);
    if (state?.step !== 'password' || !state.accountId) return ctx.redirect(base(interaction.uid));
    const accountId = state.accountId;
    return withPageErrors(ctx, deps, 'forgot', pageOf(interaction.uid, state.kind, 3), async () => {
      const { password, password_confirm } = formInput(ctx, passwordForm, ['password', 'password_confirm']);
      const problems = new FormProblems();
      if (password !== password_confirm) {
        problems.add('password_confirm', PASSWORDS_DIFFER);
        const rule = await deps.accounts.passwordRuleFor(accountId, password);
        if (!rule.ok) problems.add('password', rule.message);
      } else await problems.check('password', () => deps.accounts.setPassword(accountId, password));
      problems.throwIfAny();
      // Done: the login page fills in the login; the state can no longer set a password.
      await deps.flowStates.put('forgot', interaction.uid, {
        kind: state.kind,
        login: state.login,
        sentAt: state.sentAt,
        step: 'done',
      });
      const ended = await deps.revoker.revokeAll(accountId);
      await auditEvent(deps, ctx, {
        type: 'password_reset',
        method: 'sms',
        outcome: 'success',
        accountId,
        detail: { sessionsEnded: ended },
      });
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}?reset=1${state.kind === 'legal' ? '&tab=legal' : ''}`);
    });
  });
}

/**
 * The account a login names on its own tab: a 自然人 phone finds only a natural person, a credit
 * code only a legal person. Malformed input is refused; an unknown one is not said to be unknown.
 */
async function findAccount(
  deps: FlowDeps,
  kind: Kind,
  typed: string,
): Promise<{ login: string; account: AccountRow | undefined }> {
  if (kind === 'legal') {
    const code = parseCreditCode(typed);
    if (!code.ok) throw new BadInput(code.message);
    const account = await deps.accounts.findByLogin(code.creditCode, 'credit_code');
    return {
      login: code.creditCode,
      account: account?.user_type === 'legal_person' && account.status !== 'closed' ? account : undefined,
    };
  }
  const phone = parseMainlandMobile(typed);
  if (!phone.ok) throw new BadInput(phone.message);
  const account = await deps.accounts.findByPhone(phone.e164);
  return {
    login: phone.national,
    account: account?.user_type === 'natural_person' && account.status !== 'closed' ? account : undefined,
  };
}
