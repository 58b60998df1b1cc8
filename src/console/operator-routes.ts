import type Router from '@koa/router';
import type { Context } from 'koa';
import { isOperatorRole, OPERATOR_ROLES, ROLE_LABELS } from '../access/operator-roles.js';
import { BadInput } from '../errors.js';
import { field } from '../web/body.js';
import type { ConsoleDeps } from './console-context.js';
import { act, beijingTime, operatorOfCtx, render, requestedBy } from './console-kit.js';

/** 操作员 (安全管理员): who holds which one role; grants and removals, each with a reason. */
export function operatorRoutes(router: Router, deps: ConsoleDeps) {
  const page = (ctx: Context) => async () => ({
    title: '操作员',
    roles: OPERATOR_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
    operators: (await deps.operators.list()).map((o) => ({
      ...o,
      roleLabel: ROLE_LABELS[o.role],
      self: o.account === operatorOfCtx(ctx).accountId,
      addedAt: beijingTime(o.addedAt),
      lastSignedInAt: beijingTime(o.lastSignedInAt),
    })),
  });

  router.get('/operators', async (ctx) => render(ctx, deps, 'operators', await page(ctx)()));
  router.post('/operators', async (ctx) => {
    await act(ctx, deps, 'operators', page(ctx), async () => {
      const role = field(ctx, 'role');
      if (!isOperatorRole(role)) throw new BadInput('请选择角色');
      const login = field(ctx, 'login');
      if (!login) throw new BadInput('请填写手机号码或身份证号码');
      const added = await deps.operators.add(login, role, requestedBy(ctx));
      return {
        notice: added.changed ? `已添加${ROLE_LABELS[role]}：${added.phone ?? ''}` : '该账号已是此角色',
      };
    });
  });
  router.post('/operators/:account/remove', async (ctx) => {
    await act(ctx, deps, 'operators', page(ctx), async () => {
      await deps.operators.remove(ctx.params['account']!, requestedBy(ctx));
      return { notice: '已移除该操作员' };
    });
  });
}
