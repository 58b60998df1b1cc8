import type Router from '@koa/router';
import type { ConsoleDeps } from './console-context.js';
import { act, adminActionsOf, beijingTime, render, requestedBy } from './console-kit.js';

const STATES: Record<string, string> = { next: '待启用（已公布）', current: '当前签名', retired: '已停用' };

/** 签名密钥 (系统管理员): the keys and their state; a rotation with a reason. */
export function keyRoutes(router: Router, deps: ConsoleDeps) {
  const actions = adminActionsOf(deps);
  const page = async () => ({
    title: '签名密钥',
    keys: (await deps.keys.list()).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: STATES[k.state] ?? k.state,
      createdAt: beijingTime(k.created_at),
      activatedAt: beijingTime(k.activated_at),
      publishedUntil: k.state === 'retired' ? beijingTime(k.publish_until) : '—',
    })),
  });
  router.get('/keys', async (ctx) => render(ctx, deps, 'keys', await page()));
  router.post('/keys/rotate', async (ctx) => {
    await act(ctx, deps, 'keys', page, async () => {
      await actions.rotateKeys(requestedBy(ctx));
      return { notice: '密钥已轮换：待启用的密钥开始签名，旧密钥继续公布24小时' };
    });
  });
}
