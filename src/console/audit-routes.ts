import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditSearch } from '../admin/admin-queries.js';
import type { AuditRow } from '../audit/audit-store.js';
import {
  AUDIT_EVENT_TYPES,
  actorName,
  eventName,
  type MethodWords,
  outcomeName,
} from '../audit/audit-words.js';
import { BadInput } from '../errors.js';
import { type ConsoleDeps, requesterOf } from './console-context.js';
import { adminActionsOf, beijingTime, operatorOfCtx, render } from './console-kit.js';

const PAGE_SIZE = 50;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The filters as the form sent them, and as the query takes them (dates are Beijing days). */
async function searchOf(deps: ConsoleDeps, ctx: Context) {
  const text = (name: string) =>
    String(ctx.query[name] ?? '')
      .trim()
      .slice(0, 200);
  const form = {
    type: text('type'),
    actor: text('actor'),
    account: text('account'),
    from: text('from'),
    to: text('to'),
  };
  const day = (value: string, name: string) => {
    if (!value) return undefined;
    if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00+08:00`)))
      throw new BadInput(`${name}日期格式应为 年-月-日`);
    return new Date(`${value}T00:00:00+08:00`);
  };
  let accountId: string | undefined;
  if (form.account) {
    // A phone, ID number or credit code is looked up by its blind index; an account id is taken as is.
    accountId = (await deps.accounts.findByLogin(form.account))?.id ?? form.account;
  }
  const to = day(form.to, '结束');
  const search: AuditSearch = {
    type: form.type || undefined,
    actor: form.actor || undefined,
    accountId,
    from: day(form.from, '开始'),
    to: to ? new Date(to.getTime() + 86_400_000) : undefined,
  };
  return { form, search };
}

/** The 事件类型 filter's choices: every type the product writes, by its name. */
const TYPE_CHOICES = AUDIT_EVENT_TYPES.map((type) => ({ type, name: eventName(type) }));

function shown(row: AuditRow, words: MethodWords) {
  const { reason, ...rest } = row.detail as { reason?: unknown };
  return {
    id: row.id,
    time: beijingTime(row.occurred_at),
    type: eventName(row.type),
    actor: actorName(row.actor),
    account: row.account_id ?? '',
    method: row.method ? words.name(row.method) : '',
    outcome: outcomeName(row.outcome),
    ip: row.ip ?? '',
    reason: typeof reason === 'string' ? reason : '',
    detail: Object.keys(rest).length ? JSON.stringify(rest) : '',
  };
}

/** A CSV cell: quoted, and a leading =, +, - or @ defused so a spreadsheet shows it rather than runs it. */
function cell(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replaceAll('"', '""')}"`;
}

// Each code beside its name: the names are for reading, the codes are what the hash chain covers.
const CSV_COLUMNS = [
  '序号',
  '时间',
  '事件',
  '事件代码',
  '操作者',
  '操作者代码',
  '账号',
  '方式',
  '方式代码',
  '结果',
  '结果代码',
  'IP地址',
  '原因',
  '详情',
  '前一哈希',
  '哈希',
];

async function* csv(rows: AsyncIterable<AuditRow>, words: MethodWords): AsyncGenerator<string> {
  // The byte-order mark lets spreadsheet programs read the Chinese as UTF-8.
  yield `\uFEFF${CSV_COLUMNS.map(cell).join(',')}\r\n`;
  for await (const row of rows) {
    const s = shown(row, words);
    const line = [
      s.id,
      new Date(row.occurred_at).toISOString(),
      s.type,
      row.type,
      s.actor,
      row.actor,
      s.account,
      s.method,
      row.method,
      s.outcome,
      row.outcome,
      s.ip,
      s.reason,
      s.detail,
      row.prev_hash,
      row.hash,
    ];
    yield `${line.map(cell).join(',')}\r\n`;
  }
}

/** 审计日志 (审计管理员): filtered and paged, exported as CSV, and its hash chain checked. */
export function auditRoutes(router: Router, deps: ConsoleDeps) {
  const actions = adminActionsOf(deps);

  const page = async (ctx: Context) => {
    const { form, search } = await searchOf(deps, ctx);
    const before = Number(ctx.query['before'] ?? 0) || undefined;
    const rows = await deps.queries.auditPage(search, PAGE_SIZE + 1, before);
    const shownRows = rows.slice(0, PAGE_SIZE).map((row) => shown(row, deps.methodWords));
    const query = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    const next =
      rows.length > PAGE_SIZE
        ? `/console/audit?${new URLSearchParams([...query, ['before', String(shownRows.at(-1)!.id)]])}`
        : undefined;
    return {
      title: '审计日志',
      form,
      types: TYPE_CHOICES,
      rows: shownRows,
      next,
      exportUrl: `/console/audit/export.csv?${query}`,
    };
  };

  router.get('/audit', async (ctx) => {
    try {
      render(ctx, deps, 'audit', await page(ctx));
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      ctx.status = 400;
      render(ctx, deps, 'audit', {
        title: '审计日志',
        form: {},
        types: TYPE_CHOICES,
        rows: [],
        error: err.userMessage,
      });
    }
  });

  router.get('/audit/export.csv', async (ctx) => {
    const { search } = await searchOf(deps, ctx);
    const rows = await actions.exportAuditSearch(search, requesterOf(ctx, operatorOfCtx(ctx)));
    ctx.type = 'text/csv; charset=utf-8';
    ctx.set('Content-Disposition', 'attachment; filename="unified-id-audit.csv"');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Readable.from(csv(rows, deps.methodWords));
  });

  router.post('/audit/verify', async (ctx) => {
    // Held against AUDIT_CHECKPOINT_DIR when there is one: the chain alone can not show its end cut off.
    const { verdict, witness } = await deps.audit.verifyAgainstOutside();
    render(ctx, deps, 'audit', { ...(await page(ctx)), verification: verdict, witness });
  });
}
