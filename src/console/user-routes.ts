import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountView } from '../accounts/account-service.js';
import { levelName } from '../accounts/levels.js';
import { NotFound } from '../errors.js';
import { field } from '../web/body.js';
import { asFormFields } from '../web/page-kit.js';
import type { ConsoleDeps } from './console-context.js';
import { act, adminActionsOf, beijingTime, render, requestedBy } from './console-kit.js';

const USER_TYPES: Record<string, string> = { natural_person: '自然人', legal_person: '法人' };
const STATUSES: Record<string, string> = { active: '正常', locked: '已锁定', closed: '已注销' };

/**
 * 实名状态 as the level says it: a person is real-name from L2 on (ID card or Alipay), a legal
 * person is L2 from its registration, when the registry and its representative were checked.
 */
function realNameStatus(view: AccountView): string {
  if (view.certificationLevel === 'L1') return '未实名';
  return view.userType === 'legal_person' ? '已核验（机构登记信息与法定代表人）' : '已实名';
}

/** 用户管理 (安全管理员): find an account by a blind index, see it masked, act on it with a reason. */
export function userRoutes(router: Router, deps: ConsoleDeps) {
  const actions = adminActionsOf(deps);

  /** Everything the page shows of an account, masked: the whole identity only through reveal. */
  async function detailOf(id: string) {
    const account = await deps.accounts.find(id);
    if (!account) throw new NotFound('没有这个账号');
    const view: AccountView = deps.accounts.view(account);
    const [enterprise, certificates, alipay, sessions, events] = await Promise.all([
      view.userType === 'legal_person' ? deps.legalPersons.profileOf(id) : undefined,
      deps.certificates.list(id),
      deps.alipay.linkedAccountOf(id),
      deps.models.sessionsOf(id),
      deps.audit.forAccount(id, 30),
    ]);
    return {
      account: {
        ...view,
        userTypeLabel: USER_TYPES[view.userType] ?? view.userType,
        statusLabel: STATUSES[view.status] ?? view.status,
        levelLabel: levelName(view.certificationLevel),
        realName: realNameStatus(view),
        failedLogins: account.failed_logins,
        passwordLockedUntil:
          account.password_locked_until && new Date(account.password_locked_until) > new Date()
            ? beijingTime(account.password_locked_until)
            : null,
        createdAt: beijingTime(view.createdAt),
      },
      enterprise,
      certificates: certificates.map((c) => ({ subject: c.subject, notAfter: beijingTime(c.not_after) })),
      alipay: alipay ? { user: alipay.alipayUserMasked, linkedAt: beijingTime(alipay.linkedAt) } : null,
      sessions: sessions.map(({ payload }) => ({
        signedInAt: beijingTime(new Date(Number(payload['loginTs'] ?? 0) * 1000)),
        sites: Object.keys((payload['authorizations'] as Record<string, unknown>) ?? {}).length,
      })),
      signIns: events
        .filter((e) => e.type === 'login')
        .slice(0, 10)
        .map((e) => ({
          time: beijingTime(e.occurred_at),
          method: deps.methodWords.name(e.method),
          outcome: e.outcome === 'success' ? '成功' : '失败',
          ip: e.ip ?? '—',
        })),
    };
  }

  router.get('/users', async (ctx) => {
    const q = String(ctx.query['q'] ?? '').trim();
    if (!q) return render(ctx, deps, 'users', { title: '用户管理', q });
    const account = await deps.accounts.findByLogin(q);
    if (account) return ctx.redirect(`/console/users/${account.id}`);
    render(ctx, deps, 'users', { title: '用户管理', q, error: '未找到该账号' });
  });

  router.get('/users/:id', async (ctx) => {
    render(ctx, deps, 'user', { title: '用户管理', ...(await detailOf(ctx.params['id']!)) });
  });

  const change = (
    path: string,
    run: (ctx: Context, id: string) => Promise<Record<string, unknown>>,
    /** What the form typed, shown again when the change is refused. */
    typed: (ctx: Context) => Record<string, unknown> = () => ({}),
  ) =>
    router.post(`/users/:id/${path}`, async (ctx) => {
      const id = ctx.params['id']!;
      await act(
        ctx,
        deps,
        'user',
        async () => ({ title: '用户管理', ...(await detailOf(id)), ...typed(ctx) }),
        () => run(ctx, id),
      );
    });

  change('lock', async (ctx, id) => {
    await actions.lockAccount(id, requestedBy(ctx));
    return { notice: '账号已锁定，其全部登录会话已结束' };
  });
  change('unlock', async (ctx, id) => {
    await actions.unlockAccount(id, requestedBy(ctx));
    return { notice: '账号已解锁' };
  });
  change('sign-out', async (ctx, id) => {
    const { sessionsEnded } = await actions.signOutAccount(id, requestedBy(ctx));
    return { notice: `已结束 ${sessionsEnded} 个登录会话，并通知了相关网站` };
  });
  change('clear-failures', async (ctx, id) => {
    await actions.clearLoginFailures(id, requestedBy(ctx));
    return { notice: '登录失败计数已清除' };
  });
  change(
    'correct-identity',
    async (ctx, id) => {
      await actions
        .correctIdentity(
          id,
          { realName: field(ctx, 'realName'), idNumber: field(ctx, 'idNumber') },
          requestedBy(ctx),
        )
        .catch(asFormFields({ realName: 'correct-name', idNumber: 'correct-id' }));
      return { notice: '身份信息已更正' };
    },
    (ctx) => ({ correction: { realName: field(ctx, 'realName'), idNumber: field(ctx, 'idNumber') } }),
  );
  change('reveal', async (ctx, id) => {
    const identity = await actions.revealIdentity(id, requestedBy(ctx));
    return { revealed: { realName: identity.realName, idNumber: identity.idNumber } };
  });
}
