import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ENTERPRISE_SCOPE_DESCRIPTIONS, SCOPE_DESCRIPTIONS, scopesThatApply } from '../access/scopes.js';
import { maskPhone } from '../accounts/phone.js';
import { eventName, outcomeName } from '../audit/audit-words.js';
import { PasswordWrong } from '../errors.js';
import { answerCodeSent, codeSentNotice, codeSentTo } from '../flows/code-sending.js';
import { secretField, smsCodeField, textField } from '../web/form-fields.js';
import { formInput } from '../web/page-kit.js';
import { type AccountPageDeps, type AccountSpaceDeps, accountAudit } from './account-context.js';
import { act, sessionOf, show } from './account-page.js';
import { siteAddress } from './used-sites.js';

const beijing = (d: Date | string | number) =>
  new Date(d).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' });

/** 退出 one session (its uid) or `others`; 取消授权 one site; 注销账号 with the password and an SMS code. */
const endSessionForm = z.object({ session: textField(200, '请求格式不正确') });
const revokeForm = z.object({ client_id: textField(200, '请求格式不正确') });
const closeForm = z.object({ password: secretField, sms_code: smsCodeField });

/** 登录设备, 已授权网站, 登录记录 and 注销账号. */
export function activityRoutes(
  router: Router,
  deps: AccountPageDeps &
    Pick<
      AccountSpaceDeps,
      | 'accountSpaceClientId'
      | 'clients'
      | 'consents'
      | 'models'
      | 'revoker'
      | 'sessionMeta'
      | 'sms'
      | 'issuer'
      | 'flowStates'
      | 'methodWords'
    >,
) {
  const clientNames = async () => new Map((await deps.clients.list()).map((c) => [c.client_id, c.name]));

  const sessionsPage = async (accountId: string, currentUid: string) => {
    const names = await clientNames();
    const meta = new Map((await deps.sessionMeta.forAccount(accountId)).map((m) => [m.session_uid, m]));
    const sessions = (await deps.models.sessionsOf(accountId)).map(({ payload }) => {
      const uid = String(payload.uid);
      const m = meta.get(uid);
      const sites = Object.keys((payload['authorizations'] as Record<string, unknown>) ?? {})
        .filter((id) => id !== deps.accountSpaceClientId)
        .map((id) => names.get(id) ?? id);
      return {
        uid,
        current: uid === currentUid,
        time: beijing(Number(payload['loginTs'] ?? 0) * 1000),
        ip: m?.ip ?? '未知',
        browser: m?.user_agent ?? '未知',
        sites,
      };
    });
    return { title: '登录设备', sessions };
  };

  router.get('/sessions', async (ctx) => {
    const session = sessionOf(ctx);
    show(ctx, deps, 'account-sessions', await sessionsPage(session.account.id, session.sessionUid));
  });

  router.post('/sessions/end', async (ctx) => {
    const session = sessionOf(ctx);
    const { session: target } = formInput(ctx, endSessionForm);
    const which =
      target === 'others'
        ? (uid: string) => uid !== session.sessionUid
        : (uid: string) => uid === target && uid !== session.sessionUid;
    const ended = await deps.revoker.revokeSessions(session.account.id, which);
    await accountAudit(deps, ctx, session, {
      type: 'session_ended',
      outcome: 'success',
      detail: { sessions: ended },
    });
    ctx.redirect('/account/sessions');
  });

  router.get('/sites', async (ctx) => {
    const session = sessionOf(ctx);
    const clients = new Map((await deps.clients.list()).map((c) => [c.client_id, c]));
    const descriptions =
      session.account.user_type === 'legal_person' ? ENTERPRISE_SCOPE_DESCRIPTIONS : SCOPE_DESCRIPTIONS;
    const sites = (await deps.consents.listFor(session.account.id))
      .filter((c) => c.client_id !== deps.accountSpaceClientId)
      .map((c) => {
        const client = clients.get(c.client_id);
        return {
          clientId: c.client_id,
          name: client?.name ?? c.client_id,
          // 切换站点: the site's own address, as registered.
          url: client && !client.disabled ? siteAddress(client.redirect_uris, deps.issuer) : undefined,
          since: c.updated_at ? beijing(c.updated_at) : '',
          data: scopesThatApply(c.scope.split(' '), session.account.user_type === 'legal_person').map(
            (s) => descriptions[s],
          ),
        };
      });
    show(ctx, deps, 'account-sites', { title: '已授权网站', sites });
  });

  router.post('/sites/revoke', async (ctx) => {
    const session = sessionOf(ctx);
    const { client_id: clientId } = formInput(ctx, revokeForm);
    await deps.consents.forget(session.account.id, clientId);
    const revoked = await deps.models.revokeClient(session.account.id, clientId);
    await accountAudit(deps, ctx, session, {
      type: 'consent_revoked',
      outcome: 'success',
      detail: { clientId, revoked },
    });
    ctx.redirect('/account/sites');
  });

  router.get('/log', async (ctx) => {
    const events = (await deps.audit.forAccount(sessionOf(ctx).account.id)).map((e) => ({
      time: beijing(e.occurred_at),
      event: eventName(e.type),
      method: deps.methodWords.name(e.method),
      outcome: e.outcome === 'info' ? '' : outcomeName(e.outcome),
      ip: e.ip ?? '',
    }));
    show(ctx, deps, 'account-log', { title: '登录记录', events });
  });

  // 注销账号's 获取验证码 counts down from when the code went, on every page until 重新发送.
  const closePage = async (ctx: Context) => {
    const { smsPhone, sessionUid } = sessionOf(ctx);
    return {
      title: '注销账号',
      sentTo: maskPhone(smsPhone),
      ...(await codeSentTo(deps.flowStates, sessionUid, `close:${smsPhone}`)),
    };
  };

  router.get('/close', async (ctx) => {
    const page = await closePage(ctx);
    show(ctx, deps, 'account-close', {
      ...page,
      notice: ctx.query['sent'] && page.smsSent ? codeSentNotice(sessionOf(ctx).smsPhone) : undefined,
    });
  });

  // The script's 获取验证码 gets JSON and keeps the page; without it, a GET page after the POST,
  // so a reload does not send again.
  router.post('/close/send-sms', async (ctx) => {
    const session = sessionOf(ctx);
    return act(
      ctx,
      deps,
      'account-close',
      () => closePage(ctx),
      async () => {
        await deps.sms.send({ phone: session.smsPhone, purpose: 'account', ip: ctx.ip });
        await answerCodeSent(
          ctx,
          deps.flowStates,
          {
            scope: session.sessionUid,
            target: `close:${session.smsPhone}`,
            notice: codeSentNotice(session.smsPhone),
          },
          () => {
            ctx.status = 303;
            ctx.redirect('/account/close?sent=1');
          },
        );
      },
    );
  });

  // Closing: password and an SMS code; sites are told, personal data is erased, the audit trail stays.
  router.post('/close', async (ctx) => {
    const session = sessionOf(ctx);
    return act(
      ctx,
      deps,
      'account-close',
      () => closePage(ctx),
      async () => {
        const { password, sms_code: code } = formInput(ctx, closeForm, ['password']);
        if (!(await deps.accounts.checkPasswordOf(session.account, password))) {
          throw new PasswordWrong();
        }
        await deps.sms.verify({
          phone: session.smsPhone,
          purpose: 'account',
          code,
          ip: ctx.ip,
        });
        await accountAudit(deps, ctx, session, { type: 'account_closed', outcome: 'success' });
        await deps.revoker.revokeAll(session.account.id);
        await deps.accounts.close(session.account.id);
        ctx.type = 'html';
        ctx.body = deps.views.render('notice', {
          title: '账号已注销',
          message: '您的账号已注销，个人信息已删除。',
        });
      },
    );
  });
}
