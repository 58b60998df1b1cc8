import type Router from '@koa/router';
import type { Context } from 'koa';
import { SUPPORTED_SCOPES } from '../access/scopes.js';
import type { ClientInput } from '../clients/client-service.js';
import { AppError, BadInput } from '../errors.js';
import { field } from '../web/body.js';
import type { ConsoleDeps } from './console-context.js';
import { act, adminActionsOf, beijingTime, render, requestedBy } from './console-kit.js';

class BuiltInSite extends AppError {
  override name = 'BuiltInSite';
  constructor() {
    super(403, 'built_in_site', '这是统一身份认证平台自身的网站，不能在管理后台修改');
  }
}

/**
 * The registration form's choices, the server's allow-list: a posted value the form does not
 * offer is refused, whatever the page was made to send. The `admin` scope is never offered: a
 * site gets it only from the command line on the server. A new field is one entry here, one in
 * FIELDS and one in views/console/site-new.eta.
 */
const CHOICES = {
  scopes: SUPPORTED_SCOPES.filter((s) => s !== 'admin'),
  authMethod: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  subjectType: ['public', 'pairwise'],
  idTokenSigningAlg: ['ES256', 'RS256'],
  requireLevel: ['', 'L1', 'L2', 'L3'],
} as const;

/** Every field the form has; a request with any other is refused rather than quietly ignored. */
const FIELDS = new Set([
  '_csrf',
  'reason',
  'name',
  'redirectUris',
  'postLogoutRedirectUris',
  'backchannelLogoutUri',
  'scopes',
  'authMethod',
  'subjectType',
  'idTokenSigningAlg',
  'requireLevel',
  'firstParty',
]);

const lines = (value: string) =>
  value
    .split(/\s+/)
    .map((l) => l.trim())
    .filter(Boolean);

/** Form values that may repeat (checkboxes) as a list of strings. */
function listField(ctx: Context, name: string): string[] {
  const value = ((ctx.request.body ?? {}) as Record<string, unknown>)[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (values.some((v) => typeof v !== 'string' || v.length > 100)) throw new BadInput('请求格式不正确');
  return values as string[];
}

/** The site registration form as the client service's input (validated there, as from the API). */
function siteInputOf(ctx: Context): ClientInput {
  const posted = Object.keys((ctx.request.body ?? {}) as Record<string, unknown>);
  const unknown = posted.find((name) => !FIELDS.has(name));
  if (unknown !== undefined) throw new BadInput(`表单中没有此项：${unknown.slice(0, 40)}`);
  const scopes = listField(ctx, 'scopes');
  const offered: readonly string[] = CHOICES.scopes;
  const refused = scopes.find((s) => !offered.includes(s));
  if (refused !== undefined) throw new BadInput(`scopes: 取值无效（${refused.slice(0, 40)}）`);
  const firstParty = field(ctx, 'firstParty');
  if (firstParty !== '' && firstParty !== 'on') throw new BadInput('firstParty: 取值无效');
  const choice = <T extends readonly string[]>(name: string, allowed: T): T[number] | undefined => {
    const value = field(ctx, name);
    if (!value) return undefined;
    if (!allowed.includes(value)) throw new BadInput(`${name}: 取值无效`);
    return value as T[number];
  };
  const backchannel = field(ctx, 'backchannelLogoutUri');
  const requireLevel = choice('requireLevel', CHOICES.requireLevel);
  return {
    name: field(ctx, 'name'),
    redirectUris: lines(field(ctx, 'redirectUris')),
    postLogoutRedirectUris: lines(field(ctx, 'postLogoutRedirectUris')),
    ...(backchannel ? { backchannelLogoutUri: backchannel } : {}),
    scopes: scopes as ClientInput['scopes'],
    authMethod: choice('authMethod', CHOICES.authMethod),
    subjectType: choice('subjectType', CHOICES.subjectType),
    idTokenSigningAlg: choice('idTokenSigningAlg', CHOICES.idTokenSigningAlg),
    ...(requireLevel ? { requireLevel } : {}),
    firstParty: firstParty === 'on',
  };
}

/** 接入网站 (系统管理员): the relying parties, registered and changed through the audited actions. */
export function siteRoutes(router: Router, deps: ConsoleDeps) {
  const actions = adminActionsOf(deps);

  const listPage = async (q: string) => {
    const needle = q.toLowerCase();
    const sites = (await deps.clients.list())
      .filter(
        (c) => !needle || c.name.toLowerCase().includes(needle) || c.client_id.toLowerCase().includes(needle),
      )
      .map((c) => ({ ...c, createdAt: beijingTime(c.created_at) }));
    return { title: '接入网站', q, sites };
  };
  const formPage = async () => ({ title: '接入网站', choices: CHOICES, form: {} });
  const builtIn = (id: string) => deps.builtInClientIds.includes(id);
  const detailPage = async (id: string) => {
    const site = await deps.clients.show(id);
    return {
      title: '接入网站',
      site: { ...site, createdAt: beijingTime(site.created_at) },
      builtIn: builtIn(id),
    };
  };
  // Disabling or re-keying the console or 用户空间 from here would lock every operator or citizen out.
  router.post('/sites/:id/:action', async (ctx, next) => {
    if (builtIn(ctx.params['id']!)) throw new BuiltInSite();
    await next();
  });

  router.get('/sites', async (ctx) => {
    render(ctx, deps, 'sites', await listPage(String(ctx.query['q'] ?? '').trim()));
  });
  router.get('/sites/new', async (ctx) => render(ctx, deps, 'site-new', await formPage()));
  router.post('/sites/new', async (ctx) => {
    const form = ctx.request.body;
    await act(
      ctx,
      deps,
      'site-new',
      async () => ({ ...(await formPage()), form }),
      async () => {
        const created = await actions.createClient(siteInputOf(ctx), requestedBy(ctx));
        // The secret is shown this once, on the new site's page; it is kept only sealed.
        render(ctx, deps, 'site', {
          ...(await detailPage(created.client_id)),
          secret: created.client_secret,
          notice: '网站已登记',
        });
        return undefined;
      },
    );
  });
  router.get('/sites/:id', async (ctx) => render(ctx, deps, 'site', await detailPage(ctx.params['id']!)));

  /** The edit form, filled from the registration as it stands. */
  const editPage = async (id: string) => {
    const { site } = await detailPage(id);
    const m = site.metadata as Record<string, unknown>;
    const list = (v: unknown) => (Array.isArray(v) ? v.join('\n') : '');
    return {
      ...(await formPage()),
      editing: site,
      form: {
        name: site.name,
        redirectUris: list(m['redirect_uris']),
        postLogoutRedirectUris: list(m['post_logout_redirect_uris']),
        backchannelLogoutUri: m['backchannel_logout_uri'] ?? '',
        scopes: site.scope.split(' '),
        authMethod: site.token_endpoint_auth_method,
        subjectType: site.subject_type,
        idTokenSigningAlg: m['id_token_signed_response_alg'] ?? 'ES256',
        requireLevel: site.require_level ?? '',
        firstParty: site.first_party ? 'on' : '',
      },
    };
  };
  router.get('/sites/:id/edit', async (ctx) =>
    render(ctx, deps, 'site-new', await editPage(ctx.params['id']!)),
  );
  router.post('/sites/:id/edit', async (ctx) => {
    const id = ctx.params['id']!;
    const form = ctx.request.body;
    await act(
      ctx,
      deps,
      'site-new',
      async () => ({ ...(await editPage(id)), form }),
      async () => {
        const current = await deps.clients.show(id);
        await actions.updateClient(
          id,
          {
            ...siteInputOf(ctx),
            // What the form does not show stays as registered.
            authMethod: current.token_endpoint_auth_method as ClientInput['authMethod'],
            grantTypes: current.grant_types as ClientInput['grantTypes'],
            ...(current.metadata['jwks_uri'] ? { jwksUri: String(current.metadata['jwks_uri']) } : {}),
          },
          requestedBy(ctx),
        );
        render(ctx, deps, 'site', { ...(await detailPage(id)), notice: '网站信息已更新' });
        return undefined;
      },
    );
  });

  const change = (path: string, run: (ctx: Context, id: string) => Promise<Record<string, unknown>>) =>
    router.post(`/sites/:id/${path}`, async (ctx) => {
      const id = ctx.params['id']!;
      await act(
        ctx,
        deps,
        'site',
        () => detailPage(id),
        () => run(ctx, id),
      );
    });
  change('rotate-secret', async (ctx, id) => {
    const rotated = await actions.rotateClientSecret(id, requestedBy(ctx));
    return { secret: rotated.client_secret, notice: '已生成新的客户端密钥，旧密钥立即失效' };
  });
  change('disable', async (ctx, id) => {
    await actions.setClientDisabled(id, true, requestedBy(ctx));
    return { notice: '网站已停用' };
  });
  change('enable', async (ctx, id) => {
    await actions.setClientDisabled(id, false, requestedBy(ctx));
    return { notice: '网站已启用' };
  });
  router.post('/sites/:id/remove', async (ctx) => {
    const id = ctx.params['id']!;
    await act(
      ctx,
      deps,
      'site',
      () => detailPage(id),
      async () => {
        await actions.removeClient(id, requestedBy(ctx));
        render(ctx, deps, 'sites', { ...(await listPage('')), notice: '网站已删除' });
        return undefined;
      },
    );
  });
}
