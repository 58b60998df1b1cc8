import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { maskName } from '../../../accounts/mask.js';
import { maskPhone, parseMainlandMobile } from '../../../accounts/phone.js';
import { AccountUnavailable, AppError, FormInvalid, LoginFailed } from '../../../errors.js';
import type { AlipayProfile } from '../../../federation/alipay-link-service.js';
import { maskIdNumber } from '../../../identifiers/id-number.js';
import { LIMITS } from '../../../ops/rate-limiter.js';
import { field, parseBody } from '../../../web/body.js';
import { browserId } from '../../../web/browser-id.js';
import { AGREE_TO_TERMS } from '../../../web/field-marks.js';
import {
  actionForm,
  captchaField,
  checkboxField,
  phoneField,
  secretField,
  smsCodeField,
} from '../../../web/form-fields.js';
import { FormProblems, formInput } from '../../../web/page-kit.js';
import { renderAlipayFailure } from '../../alipay-round-trip.js';
import { codeSentNotice, codeSentTo, judgeRegisterCodeLast } from '../../code-sending.js';
import { recordLoginFailure } from '../../complete-login.js';
import { answerPageCodeSent, renderPage, withPageErrors } from '../../flow-kit.js';
import { clientNameOf, type Interaction, interactionOf } from '../../interaction.js';
import { PASSWORD_FACTOR } from '../password/password-attempt.js';
import { SMS_FACTOR } from '../sms/index.js';
import {
  ALIPAY_FACTOR,
  type AlipayFlowDeps,
  type AlipaySignInDeps,
  finishAlipayLogin,
} from './alipay-kit.js';
import { ALIPAY_PENDING, type PendingAlipayLogin } from './pending-login.js';

class AlipayLoginExpired extends AppError {
  override name = 'AlipayLoginExpired';
  constructor() {
    super(400, 'alipay_login_expired', '支付宝登录已过期，请重新发起支付宝登录。');
  }
}

/** The pending login of this interaction in the expected mode, or a page saying it expired. */
async function pendingOf<M extends PendingAlipayLogin['mode']>(
  deps: AlipayFlowDeps,
  interaction: Interaction,
  mode: M,
): Promise<Extract<PendingAlipayLogin, { mode: M }>> {
  const pending = await deps.flowStates.get(ALIPAY_PENDING, interaction.uid);
  if (pending?.mode !== mode) throw new AlipayLoginExpired();
  return pending as Extract<PendingAlipayLogin, { mode: M }>;
}

/** 关联注册 with a phone typed here: 获取验证码 needs the phone and the captcha, 注册 the code. */
const sendCodeForm = z.object({ phone: phoneField, captcha: captchaField });
const registerForm = z.object({ phone: phoneField, agree: checkboxField, sms_code: smsCodeField });
/** 关联已有账号: 获取验证码, the SMS code, or the password (with the captcha after failures). */
const captchaForm = z.object({ captcha: captchaField });
const smsLoginForm = z.object({ sms_code: smsCodeField });
const passwordLoginForm = z.object({ password: secretField, captcha: captchaField });

function identityShown(profile: AlipayProfile) {
  return {
    nameMasked: maskName(profile.identity?.realName ?? ''),
    idNumberMasked: maskIdNumber(profile.identity?.idNumber ?? ''),
  };
}

/** Alipay's mobile, when it is free to become the new account's phone. */
async function usableAlipayMobile(deps: AlipayFlowDeps, profile: AlipayProfile): Promise<string | undefined> {
  if (!profile.mobile) return undefined;
  return (await deps.accounts.findByPhone(profile.mobile)) ? undefined : profile.mobile;
}

/**
 * What a 支付宝登录 asks of the person before it finishes: 支付宝关联注册 (agree to the terms, and
 * a phone proved by SMS when Alipay has none to give), or signing in to the account that already
 * holds the ID number, to link it.
 */
export function alipayOnboardingRoutes(router: Router, deps: AlipaySignInDeps) {
  const expired = (ctx: Context, uid: string, err: AppError) =>
    renderAlipayFailure(ctx, deps, err, { links: [{ href: `/interaction/${uid}`, label: '返回登录' }] });

  /** The pending login, or undefined once the page saying it expired is shown. */
  async function pendingOrExpired<M extends PendingAlipayLogin['mode']>(
    ctx: Context,
    interaction: Interaction,
    mode: M,
  ) {
    try {
      return await pendingOf(deps, interaction, mode);
    } catch (err) {
      if (!(err instanceof AlipayLoginExpired)) throw err;
      expired(ctx, interaction.uid, err);
      return undefined;
    }
  }

  async function registerPage(interaction: Interaction, profile: AlipayProfile) {
    const alipayMobile = await usableAlipayMobile(deps, profile);
    return {
      alipayMobile,
      page: {
        title: '支付宝关联注册',
        uid: interaction.uid,
        clientName: await clientNameOf(deps, interaction),
        ...identityShown(profile),
        alipayPhoneMasked: alipayMobile ? maskPhone(alipayMobile) : undefined,
        alipayPhoneTaken: !!profile.mobile && !alipayMobile,
      } as Record<string, unknown>,
    };
  }

  router.get('/interaction/:uid/alipay/register', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const pending = await pendingOrExpired(ctx, interaction, 'register');
    if (pending) {
      renderPage(ctx, deps, 'alipay-register', (await registerPage(interaction, pending.profile)).page);
    }
  });

  router.post('/interaction/:uid/alipay/register', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const pending = await pendingOrExpired(ctx, interaction, 'register');
    if (!pending) return;
    const { profile } = pending;
    const phoneInput = field(ctx, 'phone');
    const { alipayMobile, page } = await registerPage(interaction, profile);
    page['phone'] = phoneInput;
    page['agreed'] = field(ctx, 'agree') === 'yes';
    // A code typed is kept while it may still be right (the box unticked, say), as the other
    // registration forms keep it; only a refused code is cleared.
    page['smsCode'] = field(ctx, 'sms_code');
    return withPageErrors(ctx, deps, 'alipay-register', page, async () => {
      let phone = alipayMobile;
      if (!phone) {
        const sending = formInput(ctx, actionForm).action === 'send_sms';
        const input = sending ? formInput(ctx, sendCodeForm) : formInput(ctx, registerForm);
        const parsed = parseMainlandMobile(input.phone);
        if ('captcha' in input) {
          if (!parsed.ok) throw FormInvalid.field('phone', parsed.message);
          await deps.captcha.check(browserId(ctx), input.captcha);
          await deps.sms.send({ phone: parsed.e164, purpose: 'register', ip: ctx.ip });
          return answerPageCodeSent(ctx, deps, interaction, 'alipay-register', page, {
            target: `register:${parsed.e164}`,
            notice: codeSentNotice(parsed.e164),
          });
        }
        // Every field judged before any is refused; the code is used up only by a right submit.
        const problems = new FormProblems(['phone', 'captcha', 'sms_code', 'agree']);
        const valid = problems.parsed('phone', parsed);
        if (valid)
          Object.assign(page, await codeSentTo(deps.flowStates, interaction.uid, `register:${valid.e164}`));
        if (!page['agreed']) problems.add('agree', AGREE_TO_TERMS);
        await judgeRegisterCodeLast(problems, deps.sms, page, {
          phone: valid?.e164,
          code: input.sms_code,
          ip: ctx.ip,
        });
        if (!valid) return;
        phone = valid.e164;
      } else if (!page['agreed']) {
        throw FormInvalid.field('agree', AGREE_TO_TERMS);
      }
      const account = await deps.alipay.register(profile, phone);
      await deps.flowStates.remove(ALIPAY_PENDING, interaction.uid);
      // A phone entered here was proved by an SMS code in this sign-in: a second method used.
      return finishAlipayLogin(ctx, deps, interaction, account.id, {
        before: 'registration',
        method: 'alipay',
        verified: alipayMobile ? [ALIPAY_FACTOR.amr] : [ALIPAY_FACTOR.amr, SMS_FACTOR.amr],
      });
    });
  });

  async function linkPage(
    ctx: Context,
    interaction: Interaction,
    pending: Extract<PendingAlipayLogin, { mode: 'link' }>,
  ) {
    const account = await deps.accounts.find(pending.accountId);
    const phone = account?.phone ?? '';
    const tab = ctx.query['tab'] === 'sms' || field(ctx, 'action').includes('sms') ? 'sms' : 'password';
    return {
      account,
      phone,
      page: {
        title: '关联已有账号',
        uid: interaction.uid,
        clientName: await clientNameOf(deps, interaction),
        ...identityShown(pending.profile),
        phoneMasked: phone ? maskPhone(phone) : '',
        tab,
        captchaRequired: tab === 'sms' || (await deps.loginGuard.captchaRequired(phone, ctx.ip)),
      } as Record<string, unknown>,
    };
  }

  router.get('/interaction/:uid/alipay/link', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    const pending = await pendingOrExpired(ctx, interaction, 'link');
    if (pending) renderPage(ctx, deps, 'alipay-link', (await linkPage(ctx, interaction, pending)).page);
  });

  router.post('/interaction/:uid/alipay/link', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const pending = await pendingOrExpired(ctx, interaction, 'link');
    if (!pending) return;
    const { account, phone, page } = await linkPage(ctx, interaction, pending);
    return withPageErrors(ctx, deps, 'alipay-link', page, async () => {
      const { action } = formInput(ctx, actionForm);
      if (!account || !phone) throw new LoginFailed();
      let method: 'pwd' | 'sms';
      if (action === 'send_sms') {
        await deps.captcha.check(browserId(ctx), formInput(ctx, captchaForm).captcha);
        await deps.sms.send({ phone, purpose: 'login', ip: ctx.ip });
        return answerPageCodeSent(ctx, deps, interaction, 'alipay-link', page, {
          target: `login:${phone}`,
          notice: codeSentNotice(phone),
        });
      }
      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.limiter.consume(LIMITS.loginPerAccount, account.id);
      if (action === 'sms') {
        Object.assign(page, await codeSentTo(deps.flowStates, interaction.uid, `login:${phone}`));
        const { sms_code: code } = formInput(ctx, smsLoginForm);
        await deps.sms.verify({ phone, purpose: 'login', code, ip: ctx.ip });
        method = 'sms';
      } else {
        const { password, captcha } = formInput(ctx, passwordLoginForm, ['password']);
        if (page['captchaRequired']) await deps.captcha.check(browserId(ctx), captcha);
        try {
          await deps.accounts.authenticateAccount(account, password);
          await deps.loginGuard.clear(phone);
        } catch (err) {
          if (err instanceof LoginFailed) {
            const { captchaRequired } = await deps.loginGuard.recordFailure(phone, ctx.ip);
            await recordLoginFailure(deps, ctx, { method: 'alipay+password', accountId: account.id });
            page['captchaRequired'] = captchaRequired;
          }
          throw err;
        }
        method = 'pwd';
      }
      // Nothing is linked to an account that completeLogin would then refuse.
      if (account.status !== 'active') throw new AccountUnavailable();
      await deps.alipay.linkExisting(account, pending.profile);
      await deps.flowStates.remove(ALIPAY_PENDING, interaction.uid);
      return finishAlipayLogin(ctx, deps, interaction, account.id, {
        before: 'alipay_link',
        method: method === 'pwd' ? 'alipay+password' : 'alipay+sms',
        verified: [ALIPAY_FACTOR.amr, method === 'pwd' ? PASSWORD_FACTOR.amr : SMS_FACTOR.amr],
      });
    });
  });
}
