import type Router from '@koa/router';
import { BadInput } from '../errors.js';
import { field } from '../web/body.js';
import type { ConsoleDeps } from './console-context.js';
import { act, adminActionsOf, beijingTime, render, requestedBy } from './console-kit.js';

const FORMATS: Record<string, string> = { jwt: 'JWT（本地验签）', opaque: '不透明（须令牌内省）' };

/**
 * API 资源服务 (系统管理员): the registered APIs and their introspection credentials. Registering
 * and removing stay on the command line and the admin API; the console re-keys an API whose
 * secret leaked, through the same audited action as `unified-id resources rotate-secret`.
 */
export function apiRoutes(router: Router, deps: ConsoleDeps) {
  const actions = adminActionsOf(deps);
  const page = async () => ({
    title: 'API 资源服务',
    apis: (await deps.resources.list()).map((r) => ({
      identifier: r.identifier,
      format: FORMATS[r.format] ?? r.format,
      scopes: r.scopes.join(' '),
      ttl: r.ttl,
      clientId: r.client_id,
      createdAt: beijingTime(r.created_at),
    })),
  });
  router.get('/apis', async (ctx) => render(ctx, deps, 'apis', await page()));
  // The identifier is a URI: it travels in the form, not in the path.
  router.post('/apis/rotate-secret', async (ctx) => {
    await act(ctx, deps, 'apis', page, async () => {
      const identifier = field(ctx, 'identifier');
      if (!identifier || identifier.length > 500) throw new BadInput('请选择要重置密钥的 API');
      const rotated = await actions.rotateResourceServerSecret(identifier, requestedBy(ctx));
      // Shown this once; only the sealed secret is kept.
      return {
        rotated: { identifier, clientId: rotated.client_id, secret: rotated.client_secret },
        notice: '已生成新的客户端密钥，旧密钥立即失效',
      };
    });
  });
}
