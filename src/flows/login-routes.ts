import type Router from '@koa/router';
import type { Context } from 'koa';
import { maskPhone, parseMainlandMobile } from '../accounts/phone.js';
import { BadInput, LoginFailed } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import { ACR } from '../oidc/scopes.js';
import { LIMITS } from '../ops/rate-limiter.js';
import {
  browserOf,
  clientNameOf,
  type FlowDeps,
  finishLogin,
  type Interaction,
  interactionOf,
  renderPage,
  withPageErrors,
} from './flow-kit.js';

export async function renderLogin(
  ctx: Context,
  deps: FlowDeps,
  interaction: Interaction,
  extra: Record<string, unknown> = {},
) {
  const tab = ctx.query['tab'] === 'sms' ? 'sms' : 'password';
  renderPage(ctx, deps, 'login', {
    title: '登录',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    tab,
    captchaRequired: tab === 'sms' || (await deps.loginGuard.captchaRequired('', ctx.ip)),
    notice: ctx.query['reset'] === '1' ? '密码已重置，请使用新密码登录' : undefined,
    ...extra,
  });
}

/** 自然人用户登录: 手机号码/身份证号码 + 密码, and 短信验证码登录. */
export function loginRoutes(router: Router, deps: FlowDeps) {
  router.post('/interaction/:uid/login', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const login = field(ctx, 'login');
    const password = rawField(ctx, 'password');
    const page: Record<string, unknown> = {
      title: '登录',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      tab: 'password',
      login,
      captchaRequired: await deps.loginGuard.captchaRequired(login, ctx.ip),
    };
    return withPageErrors(ctx, deps, 'login', page, async () => {
      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.limiter.consume(LIMITS.loginPerAccount, login.toUpperCase());
      if (page['captchaRequired']) await deps.captcha.check(browserOf(ctx), field(ctx, 'captcha'));
      try {
        if (!login || !password) throw new LoginFailed();
        const account = await deps.accounts.authenticatePassword(login, password);
        await deps.loginGuard.clear(login);
        deps.metrics.logins.inc({ method: 'password', outcome: 'success' });
        ctx.state.log.info({ accountId: account.id, method: 'password' }, 'login succeeded');
        return await finishLogin(deps, ctx, account.id, ACR.basic, ['pwd']);
      } catch (err) {
        if (err instanceof LoginFailed) {
          await deps.loginGuard.recordFailure(login, ctx.ip);
          deps.metrics.logins.inc({ method: 'password', outcome: 'failure' });
          page['captchaRequired'] = await deps.loginGuard.captchaRequired(login, ctx.ip);
        }
        throw err;
      }
    });
  });

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
    };
    return withPageErrors(ctx, deps, 'login', page, async () => {
      const phone = parseMainlandMobile(phoneInput);
      if (!phone.ok) throw new BadInput(phone.message);
      const account = await deps.accounts.findByPhone(phone.e164);

      if (field(ctx, 'action') === 'send_sms') {
        await deps.captcha.check(browserOf(ctx), field(ctx, 'captcha'));
        // Only registered numbers get a message, but the page says the same either way.
        if (account) await deps.sms.send({ phone: phone.e164, purpose: 'login', ip: ctx.ip });
        return renderPage(ctx, deps, 'login', {
          ...page,
          smsSent: true,
          notice: `如该手机号已注册，验证码已发送至 ${maskPhone(phone.e164)}，5分钟内有效`,
        });
      }

      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.sms.verify({ phone: phone.e164, purpose: 'login', code: field(ctx, 'sms_code') });
      if (account?.status !== 'active') throw new LoginFailed();
      deps.metrics.logins.inc({ method: 'sms', outcome: 'success' });
      ctx.state.log.info({ accountId: account.id, method: 'sms' }, 'login succeeded');
      const lockedUntil = account.password_locked_until ? new Date(account.password_locked_until) : undefined;
      if (lockedUntil && lockedUntil.getTime() > Date.now()) {
        // Told only now, after the SMS code proved the person holds the phone.
        const returnTo = await deps.host.provider.interactionResult(
          ctx.req,
          ctx.res,
          { login: { accountId: account.id, acr: ACR.basic, amr: ['sms'], remember: true } },
          { mergeWithLastSubmission: false },
        );
        return renderPage(ctx, deps, 'notice', {
          title: '密码登录已锁定',
          message: `由于连续多次输错密码，您账号的密码登录已锁定至 ${lockedUntil.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}。本次短信验证码登录不受影响；您也可以通过“忘记密码”重置密码。`,
          continueUrl: returnTo,
        });
      }
      return finishLogin(deps, ctx, account.id, ACR.basic, ['sms']);
    });
  });
}
