import type Router from '@koa/router';
import type { Context } from 'koa';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { BadInput, LoginFailed } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import { browserId } from '../http/browser-id.js';
import { ACR } from '../oidc/scopes.js';
import { LIMITS } from '../ops/rate-limiter.js';
import { answerCodeSent, codeSentTo } from './code-sending.js';
import {
  auditEvent,
  clientNameOf,
  type FlowDeps,
  finishLogin,
  type Interaction,
  interactionOf,
  renderPage,
  saveResult,
  withPageErrors,
} from './flow-kit.js';
import { recoveredLogin } from './recovery-routes.js';

export const totpState = (uid: string) => `totp:${uid}`;

export async function renderLogin(
  ctx: Context,
  deps: FlowDeps,
  interaction: Interaction,
  extra: Record<string, unknown> = {},
) {
  const tab = ctx.query['tab'] === 'sms' ? 'sms' : ctx.query['tab'] === 'legal' ? 'legal' : 'password';
  // After 忘记密码: the tab it was done on, with the login filled in.
  const recovered = ctx.query['reset'] === '1' ? await recoveredLogin(deps, interaction.uid) : undefined;
  renderPage(ctx, deps, 'login', {
    title: '登录',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    tab,
    captchaRequired: tab === 'sms' || (await deps.loginGuard.captchaRequired('', ctx.ip)),
    notice: ctx.query['reset'] === '1' ? '密码已重置，请使用新密码登录' : undefined,
    ...(recovered?.tab === tab ? { login: recovered.login } : {}),
    ...extra,
  });
}

/** 自然人用户登录: 手机号码/身份证号码 + 密码, 短信验证码登录; 法人用户登录: 统一社会信用代码 + 密码. */
export function loginRoutes(router: Router, deps: FlowDeps) {
  router.post('/interaction/:uid/login', parseBody, (ctx) => passwordLogin(ctx, deps, 'password'));
  router.post('/interaction/:uid/login-legal', parseBody, (ctx) => passwordLogin(ctx, deps, 'legal'));
  loginBySms(router, deps);
}

/** The same 登录失败处理 for both tabs: the counters follow the login string, whatever it is. */
async function passwordLogin(ctx: Context, deps: FlowDeps, tab: 'password' | 'legal') {
  const interaction = await interactionOf(deps, ctx);
  deps.csrf.verify(ctx, field(ctx, '_csrf'));
  const login = field(ctx, 'login');
  const password = rawField(ctx, 'password');
  const page: Record<string, unknown> = {
    title: '登录',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    tab,
    login,
  };
  // The attempt's limits and its failure counters, in one statement.
  const attempt = await deps.loginGuard.attempt(login, ctx.ip);
  page['captchaRequired'] = attempt.captchaRequired;
  const kind = tab === 'legal' ? ('credit_code' as const) : undefined;
  return withPageErrors(ctx, deps, 'login', page, async () => {
    attempt.assertAllowed();
    if (page['captchaRequired']) await deps.captcha.check(browserId(ctx), field(ctx, 'captcha'));
    try {
      // An empty field is not an attempt on the account's password lock, but is still audited on it.
      if (!login || !password) throw new LoginFailed((await deps.accounts.findByLogin(login, kind))?.id);
      const account = await deps.accounts.authenticatePassword(login, password, kind);
      if (attempt.loginFailures > 0) await deps.loginGuard.clear(login);
      if (account.totp_enabled_at) {
        // 两步验证 is on: the password alone does not sign in.
        await deps.flowStates.put(totpState(interaction.uid), { accountId: account.id }, 600);
        return renderPage(ctx, deps, 'totp', { title: '两步验证', uid: interaction.uid });
      }
      deps.metrics.logins.inc({ method: 'password', outcome: 'success' });
      await auditEvent(deps, ctx, {
        type: 'login',
        method: 'password',
        outcome: 'success',
        accountId: account.id,
      });
      return await finishLogin(ctx, interaction, account.id, ACR.basic, ['pwd']);
    } catch (err) {
      if (err instanceof LoginFailed) {
        const { captchaRequired } = await deps.loginGuard.recordFailure(login, ctx.ip);
        deps.metrics.logins.inc({ method: 'password', outcome: 'failure' });
        await auditEvent(deps, ctx, {
          type: 'login',
          method: 'password',
          outcome: 'failure',
          accountId: err.accountId,
          ...(err.accountId ? {} : { detail: { reason: 'unknown login' } }),
        });
        page['captchaRequired'] = captchaRequired;
      }
      throw err;
    }
  });
}

const smsTarget = (input: string) => {
  const phone = parseMainlandMobile(input);
  return phone.ok ? `login:${phone.e164}` : undefined;
};

function loginBySms(router: Router, deps: FlowDeps) {
  router.post('/interaction/:uid/login-sms', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const phoneInput = field(ctx, 'phone');
    const page: Record<string, unknown> = {
      title: '登录',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      tab: 'sms',
      phone: phoneInput,
      captchaRequired: true,
      ...(await codeSentTo(deps.flowStates, interaction.uid, smsTarget(phoneInput))),
    };
    return withPageErrors(ctx, deps, 'login', page, async () => {
      const phone = parseMainlandMobile(phoneInput);
      if (!phone.ok) throw new BadInput(phone.message);
      const account = await deps.accounts.findByPhone(phone.e164);

      if (field(ctx, 'action') === 'send_sms') {
        await deps.captcha.check(browserId(ctx), field(ctx, 'captcha'));
        // Only registered numbers get a message, but the page says the same either way.
        if (account) await deps.sms.send({ phone: phone.e164, purpose: 'login', ip: ctx.ip });
        return answerCodeSent(
          ctx,
          deps.flowStates,
          {
            scope: interaction.uid,
            target: `login:${phone.e164}`,
            notice: `如该手机号已注册，验证码已发送至 ${maskPhone(phone.e164)}，5分钟内有效`,
          },
          (sent) => renderPage(ctx, deps, 'login', { ...page, ...sent }),
        );
      }

      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.sms.verify({ phone: phone.e164, purpose: 'login', code: field(ctx, 'sms_code') });
      if (account?.status !== 'active') throw new LoginFailed();
      deps.metrics.logins.inc({ method: 'sms', outcome: 'success' });
      await auditEvent(deps, ctx, {
        type: 'login',
        method: 'sms',
        outcome: 'success',
        accountId: account.id,
      });
      const lockedUntil = account.password_locked_until ? new Date(account.password_locked_until) : undefined;
      if (lockedUntil && lockedUntil.getTime() > Date.now()) {
        // Told only now, after the SMS code proved the person holds the phone.
        const returnTo = await saveResult(interaction, {
          login: { accountId: account.id, acr: ACR.basic, amr: ['sms'], remember: true },
        });
        return renderPage(ctx, deps, 'notice', {
          title: '密码登录已锁定',
          message: `由于连续多次输错密码，您账号的密码登录已锁定至 ${lockedUntil.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}。本次短信验证码登录不受影响；您也可以通过“忘记密码”重置密码。`,
          continueUrl: returnTo,
        });
      }
      return finishLogin(ctx, interaction, account.id, ACR.basic, ['sms']);
    });
  });
}

/** The second step of a password login when 两步验证 is on: a TOTP code or a recovery code. */
export function totpRoutes(router: Router, deps: FlowDeps) {
  router.post('/interaction/:uid/totp', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const state = await deps.flowStates.get<{ accountId: string }>(totpState(interaction.uid));
    const account = state ? await deps.accounts.find(state.accountId) : undefined;
    if (!account) return renderLogin(ctx, deps, interaction, { error: '登录已过期，请重新登录' });
    return withPageErrors(ctx, deps, 'totp', { title: '两步验证', uid: interaction.uid }, async () => {
      await deps.limiter.consume(LIMITS.loginPerAccount, account.id);
      try {
        const how = await deps.totp.check(account, field(ctx, 'code'));
        await deps.flowStates.remove(totpState(interaction.uid));
        deps.metrics.logins.inc({ method: 'password_totp', outcome: 'success' });
        await auditEvent(deps, ctx, {
          type: 'login',
          method: `password+${how}`,
          outcome: 'success',
          accountId: account.id,
        });
        return await finishLogin(ctx, interaction, account.id, ACR.mfa, ['pwd', 'otp', 'mfa']);
      } catch (err) {
        await auditEvent(deps, ctx, {
          type: 'login',
          method: 'totp',
          outcome: 'failure',
          accountId: account.id,
        });
        throw err;
      }
    });
  });
}
