import type { Context } from 'koa';
import { type OperatorRole, ROLE_LABELS, RoleForbidden } from '../access/operator-roles.js';
import { AdminActions, type Requester } from '../admin/admin-actions.js';
import { BadInput } from '../errors.js';
import { field } from '../web/body.js';
import { actOnPage, drawPage, type PageData } from '../web/page-kit.js';
import { type ConsoleDeps, type Operator, requesterOf } from './console-context.js';

declare module 'koa' {
  interface DefaultState {
    consoleOperator?: Operator;
  }
}

/** The console's pages, each owned by one role (三员分立); the menu shows the operator's own. */
export const CONSOLE_PAGES: { path: string; title: string; role: OperatorRole }[] = [
  { path: '/console/stats', title: '统计概览', role: 'audit' },
  { path: '/console/audit', title: '审计日志', role: 'audit' },
  { path: '/console/sites', title: '接入网站', role: 'system' },
  { path: '/console/apis', title: 'API 资源服务', role: 'system' },
  { path: '/console/keys', title: '签名密钥', role: 'system' },
  { path: '/console/users', title: '用户管理', role: 'security' },
  { path: '/console/operators', title: '操作员', role: 'security' },
];

export function pageOf(path: string) {
  return CONSOLE_PAGES.find((p) => path === p.path || path.startsWith(`${p.path}/`));
}

export function homeOf(role: OperatorRole): string {
  return CONSOLE_PAGES.find((p) => p.role === role)!.path;
}

export function operatorOfCtx(ctx: Context): Operator {
  return ctx.state.consoleOperator!;
}

/** Who asks for an audited action, and why: the signed-in operator and the reason typed with it. */
export function requestedBy(ctx: Context): Requester {
  return requesterOf(ctx, operatorOfCtx(ctx), reasonOf(ctx));
}

/** Refuses, on the server, every console page of another role than the operator's. */
export function assertRole(ctx: Context) {
  const operator = operatorOfCtx(ctx);
  const page = pageOf(ctx.path);
  if (page?.role !== operator.role) throw new RoleForbidden(operator.role, page?.role);
}

/** Renders a console page with the operator's menu. */
export function render(ctx: Context, deps: ConsoleDeps, view: string, data: PageData) {
  const operator = operatorOfCtx(ctx);
  drawPage(ctx, deps, `console/${view}`, {
    operator,
    roleLabel: ROLE_LABELS[operator.role],
    menu: CONSOLE_PAGES.filter((p) => p.role === operator.role),
    current: pageOf(ctx.path)?.path,
    ...data,
  });
}

/** 原因: every change in the console gives one, kept in its audit row. */
export function reasonOf(ctx: Context): string {
  const reason = field(ctx, 'reason');
  if (reason.length < 2 || reason.length > 500)
    throw new BadInput('请填写操作原因（2至500字）', 'reason_required');
  return reason;
}

/**
 * Runs a change through the page kit (actOnPage), then shows `view` again with what the change
 * returned (or nothing, when the change answered itself); a typed error shows the page again
 * with each problem beside its field (and nothing changed), anything else goes to the error
 * handler.
 */
export async function act(
  ctx: Context,
  deps: ConsoleDeps,
  view: string,
  page: () => Promise<PageData>,
  action: () => Promise<PageData | undefined>,
) {
  const outcome = await actOnPage(ctx, (data) => render(ctx, deps, view, data), page, action);
  if (outcome) render(ctx, deps, view, { ...(await page()), ...outcome });
}

// Made at the first time shown, not when the module loads: a wrong option (an unknown time zone,
// say) then fails the call that shows a time, and its test, instead of every import of the kit.
let beijing: Intl.DateTimeFormat | undefined;

/** Times are shown in Beijing time, as the province works. */
export function beijingTime(value: Date | string | null | undefined): string {
  if (!value) return '—';
  beijing ??= new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
  return beijing.format(new Date(value));
}

/** The same audited actions as the admin API and the command line. */
export function adminActionsOf(deps: ConsoleDeps): AdminActions {
  return new AdminActions({
    clients: deps.clients,
    accounts: deps.accounts,
    keys: deps.keys,
    audit: deps.audit,
    revoker: deps.revoker,
    loginGuard: deps.loginGuard,
    realName: deps.realName,
    queries: deps.queries,
    resources: deps.resources,
    keysRotated: () => deps.host.refresh(),
  });
}
