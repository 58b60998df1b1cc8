import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountRow } from '../accounts/account-store.js';
import { type AccountPageDeps, type AccountSpaceDeps, accountAudit } from './account-context.js';
import { act, sessionOf } from './account-page.js';
import { alipayCertifyStartPath } from './alipay-certify-routes.js';

/**
 * What 安全设置 shows of Alipay: the linked Alipay user (masked) with 解除绑定, or, when none is
 * linked and Alipay is configured, the way to link one (支付宝认证 links the user it certifies).
 */
export async function alipayPart(deps: Pick<AccountSpaceDeps, 'alipay'>, account: AccountRow) {
  if (!deps.alipay.configured || account.user_type !== 'natural_person') return {};
  return {
    alipayLinked: await deps.alipay.linkedAccountOf(account.id),
    alipayLinkUrl: alipayCertifyStartPath('/account/security'),
  };
}

/** 支付宝认证 on 认证等级, only when Alipay is configured (the page offers it to citizens only). */
export function alipayCertifyUrl(deps: Pick<AccountSpaceDeps, 'alipay'>): string | undefined {
  return deps.alipay.configured ? alipayCertifyStartPath('/account/level') : undefined;
}

/** 解除绑定: refused (409, on the same page) while Alipay is the account's only credential. */
export function alipaySpaceRoutes(
  router: Router,
  deps: AccountPageDeps & Pick<AccountSpaceDeps, 'alipay'>,
  page: (ctx: Context) => () => Promise<Record<string, unknown>>,
) {
  router.post('/security/alipay/unlink', async (ctx) => {
    const session = sessionOf(ctx);
    return act(ctx, deps, 'account-security', page(ctx), async () => {
      const unlinked = await deps.alipay.unlink(session.account);
      if (unlinked) {
        await accountAudit(deps, ctx, session, {
          type: 'alipay_unlink',
          method: 'alipay',
          outcome: 'success',
          detail: { alipayUser: unlinked.alipayUserMasked },
        });
      }
      ctx.redirect('/account/security?changed=alipay_unlinked');
    });
  });
}
