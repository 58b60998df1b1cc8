import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountService } from '../accounts/account-service.js';
import { maskIdNumber } from '../accounts/id-number.js';
import type { AuditService } from '../audit/audit-service.js';
import type { ClientInput, ClientService } from '../clients/client-service.js';
import { BadInput, NotFound } from '../errors.js';
import { assertCleanJson, parseBody } from '../http/body.js';
import type { KeyService } from '../oidc/keys/key-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import { requireAdmin } from './admin-auth.js';
import type { AdminQueries } from './admin-queries.js';
import type { OperatorService } from './operator-service.js';

export interface AdminDeps {
  host: ProviderHost;
  clients: ClientService;
  accounts: AccountService;
  keys: KeyService;
  audit: AuditService;
  revoker: SessionRevoker;
  queries: AdminQueries;
  operators: Pick<OperatorService, 'isOperator'>;
}

/** Why: every change through the admin API is audited with the operator's reason. */
const REASON = z.string().trim().min(2).max(500);
const WHY = z.object({ reason: REASON });

/** The value the schema accepts, or a 400 saying what is wrong with it. */
function valid<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw BadInput.of(parsed.error);
  return parsed.data;
}

function body<T extends z.ZodType>(ctx: Context, schema: T): z.infer<T> {
  return valid(schema, ctx.request.body ?? {});
}

async function* ndjson(rows: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const row of rows) yield `${JSON.stringify(row)}\n`;
}

/** The operators' JSON API under /admin/api. Every change is audited with who, what, when and why. */
export function adminRoutes(deps: AdminDeps): Router {
  const router = new Router({ prefix: '/admin/api' });
  router.use(requireAdmin(deps.host, deps.operators));
  router.use(parseBody);
  router.use(async (ctx, next) => {
    assertCleanJson(ctx.request.body);
    await next();
  });

  const audit = (ctx: Context, type: string, detail: Record<string, unknown>, accountId?: string) =>
    deps.audit.record({
      type: `admin.${type}`,
      outcome: 'success',
      actor: ctx.state.adminActor!,
      accountId,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent'),
      detail,
    });

  // Relying parties.
  router.get('/clients', async (ctx) => {
    ctx.body = await deps.clients.list();
  });
  router.post('/clients', async (ctx) => {
    const { reason, ...input } = body(ctx, z.looseObject({ reason: REASON }));
    const created = await deps.clients.add(input as ClientInput);
    await audit(ctx, 'client_created', { clientId: created.client_id, name: input['name'], reason });
    ctx.status = 201;
    ctx.body = created;
  });
  router.get('/clients/:id', async (ctx) => {
    ctx.body = await deps.clients.show(ctx.params['id']!);
  });
  router.patch('/clients/:id', async (ctx) => {
    const { disabled, reason } = body(ctx, z.object({ disabled: z.boolean(), reason: REASON }));
    await deps.clients.setDisabled(ctx.params['id']!, disabled);
    await audit(ctx, disabled ? 'client_disabled' : 'client_enabled', { clientId: ctx.params['id'], reason });
    ctx.body = await deps.clients.show(ctx.params['id']!);
  });
  router.post('/clients/:id/rotate-secret', async (ctx) => {
    const { reason } = body(ctx, WHY);
    const rotated = await deps.clients.rotateSecret(ctx.params['id']!);
    await audit(ctx, 'client_secret_rotated', { clientId: ctx.params['id'], reason });
    ctx.body = rotated;
  });

  // Accounts: masked unless an audited reason is given.
  router.get('/accounts', async (ctx) => {
    const phone = String(ctx.query['phone'] ?? '');
    if (!phone) throw new BadInput('phone is required');
    const account = await deps.accounts.findByLogin(phone);
    ctx.body = account ? [deps.accounts.view(account)] : [];
  });
  router.get('/accounts/:id', async (ctx) => {
    ctx.body = await deps.accounts.show(ctx.params['id']!);
  });
  router.post('/accounts/:id/lock', async (ctx) => {
    const { reason } = body(ctx, WHY);
    const view = await deps.accounts.setStatus(ctx.params['id']!, 'locked');
    await deps.revoker.revokeAll(view.id);
    await audit(ctx, 'account_locked', { reason }, view.id);
    ctx.body = view;
  });
  router.post('/accounts/:id/unlock', async (ctx) => {
    const { reason } = body(ctx, WHY);
    const view = await deps.accounts.setStatus(ctx.params['id']!, 'active');
    await audit(ctx, 'account_unlocked', { reason }, view.id);
    ctx.body = view;
  });
  router.post('/accounts/:id/sign-out', async (ctx) => {
    const { reason } = body(ctx, WHY);
    const view = await deps.accounts.show(ctx.params['id']!);
    const sessions = await deps.revoker.revokeAll(view.id);
    await audit(ctx, 'account_signed_out', { reason, sessions }, view.id);
    ctx.body = { ...view, sessionsEnded: sessions };
  });
  router.post('/accounts/:id/identity', async (ctx) => {
    const { reason } = body(ctx, z.object({ reason: z.string().trim().min(5).max(500) }));
    const account = await deps.accounts.findByLogin(ctx.params['id']!);
    if (!account) throw new NotFound('no such account');
    const identity = deps.accounts.identityOf(account);
    if (!identity) throw new NotFound('the account is not verified');
    await audit(ctx, 'identity_revealed', { reason, idNumber: maskIdNumber(identity.idNumber) }, account.id);
    ctx.body = {
      id: account.id,
      realName: identity.realName,
      idNumber: identity.idNumber,
      idType: identity.idType,
    };
  });

  // Signing keys.
  router.get('/keys', async (ctx) => {
    ctx.body = await deps.keys.list();
  });
  router.post('/keys/rotate', async (ctx) => {
    const { reason } = body(ctx, WHY);
    const keys = await deps.keys.rotate();
    await deps.host.refresh();
    await audit(ctx, 'keys_rotated', { reason });
    ctx.body = keys;
  });

  // The audit log and statistics.
  router.get('/audit', async (ctx) => {
    const query = valid(
      z.object({
        account: z.string().optional(),
        type: z.string().optional(),
        since: z.iso.datetime().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      ctx.query,
    );
    ctx.body = await deps.audit.query({
      accountId: query.account,
      type: query.type,
      since: query.since ? new Date(query.since) : undefined,
      limit: query.limit,
    });
  });
  router.get('/audit/export', async (ctx) => {
    // Streamed a page at a time: a province's six months of events do not fit in one string.
    const { lastId, rows } = await deps.audit.snapshot();
    await audit(ctx, 'audit_exported', { throughId: lastId });
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', 'attachment; filename="unified-id-audit.ndjson"');
    ctx.body = Readable.from(ndjson(rows));
  });
  router.get('/stats/logins', async (ctx) => {
    // A bad value is the caller's mistake (400), not a server error.
    const days = valid(z.coerce.number().int().min(1).max(366).default(30), ctx.query['days'] ?? undefined);
    ctx.body = await deps.queries.loginsPerDay(days);
  });

  return router;
}
