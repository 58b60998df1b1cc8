import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountService } from '../accounts/account-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { ClientInput, ClientService } from '../clients/client-service.js';
import { BadInput } from '../errors.js';
import type { KeyService } from '../oidc/keys/key-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { ResourceServerInput, ResourceServerService } from '../resources/resource-server-service.js';
import { assertCleanJson, parseBody } from '../web/body.js';
import { AdminActions, type Requester } from './admin-actions.js';
import { requireAdmin } from './admin-auth.js';
import type { AdminQueries } from './admin-queries.js';
import type { OperatorService } from './operator-service.js';

export interface AdminDeps {
  host: ProviderHost;
  clients: ClientService;
  accounts: AccountService;
  keys: KeyService;
  resources: ResourceServerService;
  audit: AuditService;
  revoker: SessionRevoker;
  queries: AdminQueries;
  operators: Pick<OperatorService, 'roleOf'>;
}

/** Why: every change through the admin API is audited with the operator's reason. */
const REASON = z.string().trim().min(2).max(500);
const WHY = z.object({ reason: REASON });

/**
 * A registration's fields, each one the API knows; any other is refused (400) rather than
 * dropped, and the values are checked by the client service and client-rules.ts.
 */
const CLIENT_FIELDS = z.strictObject({
  reason: REASON,
  ...Object.fromEntries(
    [
      'name',
      'applicationType',
      'redirectUris',
      'postLogoutRedirectUris',
      'backchannelLogoutUri',
      'grantTypes',
      'scopes',
      'authMethod',
      'jwksUri',
      'subjectType',
      'idTokenSigningAlg',
      'firstParty',
      'requireLevel',
      'adminRole',
    ].map((name) => [name, z.unknown().optional()]),
  ),
});

/** The reason a change's JSON body gives (400 without one). */
function reasonOf(ctx: Context): string {
  return body(ctx, WHY).reason;
}

/** A read's reason is welcome (`?reason=`), not required. */
function optionalReason(ctx: Context): string | undefined {
  return valid(REASON.optional(), ctx.query['reason'] ?? undefined);
}

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
  router.use(requireAdmin(deps.host, deps.operators, deps.clients));
  router.use(parseBody);
  router.use(async (ctx, next) => {
    assertCleanJson(ctx.request.body);
    await next();
  });

  const actions = new AdminActions({
    clients: deps.clients,
    accounts: deps.accounts,
    keys: deps.keys,
    resources: deps.resources,
    audit: deps.audit,
    revoker: deps.revoker,
    keysRotated: () => deps.host.refresh(),
  });
  const requester = (ctx: Context, reason: string | undefined): Requester => ({
    actor: ctx.state.adminActor!,
    role: ctx.state.adminRole!,
    reason,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
  });

  // Relying parties.
  router.get('/clients', async (ctx) => {
    ctx.body = await deps.clients.list();
  });
  router.post('/clients', async (ctx) => {
    const { reason, ...input } = body(ctx, CLIENT_FIELDS);
    ctx.body = await actions.createClient(input as ClientInput, requester(ctx, reason));
    ctx.status = 201;
  });
  router.get('/clients/:id', async (ctx) => {
    ctx.body = await deps.clients.show(ctx.params['id']!);
  });
  router.patch('/clients/:id', async (ctx) => {
    const { disabled, reason } = body(ctx, z.object({ disabled: z.boolean(), reason: REASON }));
    ctx.body = await actions.setClientDisabled(ctx.params['id']!, disabled, requester(ctx, reason));
  });
  router.post('/clients/:id/rotate-secret', async (ctx) => {
    ctx.body = await actions.rotateClientSecret(ctx.params['id']!, requester(ctx, reasonOf(ctx)));
  });

  // APIs that access tokens are issued for (RFC 8707 `resource`); the identifier is URL-encoded in paths.
  router.get('/resources', async (ctx) => {
    ctx.body = await deps.resources.list();
  });
  router.post('/resources', async (ctx) => {
    const { reason, ...input } = body(ctx, z.looseObject({ reason: REASON }));
    ctx.body = await actions.addResourceServer(input as ResourceServerInput, requester(ctx, reason));
    ctx.status = 201;
  });
  router.get('/resources/:identifier', async (ctx) => {
    ctx.body = await deps.resources.show(ctx.params['identifier']!);
  });
  router.post('/resources/:identifier/rotate-secret', async (ctx) => {
    ctx.body = await actions.rotateResourceServerSecret(
      ctx.params['identifier']!,
      requester(ctx, reasonOf(ctx)),
    );
  });
  router.delete('/resources/:identifier', async (ctx) => {
    await actions.removeResourceServer(ctx.params['identifier']!, requester(ctx, reasonOf(ctx)));
    ctx.status = 204;
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
    ctx.body = await actions.lockAccount(ctx.params['id']!, requester(ctx, reasonOf(ctx)));
  });
  router.post('/accounts/:id/unlock', async (ctx) => {
    ctx.body = await actions.unlockAccount(ctx.params['id']!, requester(ctx, reasonOf(ctx)));
  });
  router.post('/accounts/:id/sign-out', async (ctx) => {
    ctx.body = await actions.signOutAccount(ctx.params['id']!, requester(ctx, reasonOf(ctx)));
  });
  router.post('/accounts/:id/identity', async (ctx) => {
    const { reason } = body(ctx, z.object({ reason: z.string().trim().min(5).max(500) }));
    ctx.body = await actions.revealIdentity(ctx.params['id']!, requester(ctx, reason));
  });

  // Signing keys.
  router.get('/keys', async (ctx) => {
    ctx.body = await deps.keys.list();
  });
  router.post('/keys/rotate', async (ctx) => {
    ctx.body = await actions.rotateKeys(requester(ctx, reasonOf(ctx)));
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
    const rows = await actions.exportAudit(requester(ctx, optionalReason(ctx)));
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
