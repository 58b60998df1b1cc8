import type { Context } from 'koa';
import type { ProviderHost } from './provider-host.js';
import type { SessionMetaStore } from './session-meta-store.js';

/**
 * The provider's own SSO session of this browser; undefined when there is none, 'idle' when it
 * has been idle in the account space for longer than the idle timeout (等保: 登录连接超时自动退出).
 * 用户空间 and 支付宝认证 started from it both ask this.
 */
export async function ssoSessionOf(
  deps: {
    host: Pick<ProviderHost, 'provider'>;
    idleTimeoutSeconds: number;
    sessionMeta: Pick<SessionMetaStore, 'find'>;
  },
  ctx: Context,
): Promise<{ accountId: string; sessionUid: string } | 'idle' | undefined> {
  const session = await deps.host.provider.Session.get(ctx);
  if (!session.accountId || !session.uid) return undefined;
  if (await idleInAccountSpace(deps, session.uid)) return 'idle';
  return { accountId: session.accountId, sessionUid: session.uid };
}

/** Whether the SSO session has gone without a request in the account space for too long. */
export async function idleInAccountSpace(
  deps: { idleTimeoutSeconds: number; sessionMeta: Pick<SessionMetaStore, 'find'> },
  sessionUid: string,
): Promise<boolean> {
  const meta = await deps.sessionMeta.find(sessionUid);
  return !!meta && Date.now() - new Date(meta.last_seen_at).getTime() > deps.idleTimeoutSeconds * 1000;
}
