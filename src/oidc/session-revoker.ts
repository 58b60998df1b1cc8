import type { Logger } from 'pino';
import type { ModelStore } from './model-store.js';
import type { ProviderHost } from './provider-host.js';

interface SessionPayload {
  accountId?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

/**
 * Ends every session of an account (password reset, change of password, closure): each site that
 * took part is told by back-channel logout, then sessions, grants, codes and tokens are deleted.
 */
export class SessionRevoker {
  constructor(
    private readonly models: ModelStore,
    private readonly host: ProviderHost,
    private readonly log: Logger,
  ) {}

  async revokeAll(accountId: string, options: { exceptSessionUid?: string } = {}): Promise<number> {
    const sessions = await this.models.sessionsOf(accountId);
    const provider = this.host.provider;
    const notices: Promise<unknown>[] = [];
    for (const session of sessions) {
      const payload = session.payload as SessionPayload;
      if (options.exceptSessionUid && session.payload.uid === options.exceptSessionUid) continue;
      for (const [clientId, authorization] of Object.entries(payload.authorizations ?? {})) {
        notices.push(
          provider.Client.find(clientId)
            .then(async (client) => {
              if (!client?.backchannelLogoutUri) return;
              // Client#backchannelLogout is oidc-provider's own logout-token delivery (not in its types).
              const withLogout = client as unknown as {
                backchannelLogout(sub: string, sid: string): Promise<void>;
              };
              await withLogout.backchannelLogout(accountId, authorization.sid ?? '');
            })
            .catch((err: Error) =>
              this.log.warn({ clientId, err: err.message }, 'back-channel logout failed'),
            ),
        );
      }
    }
    await Promise.all(notices);
    if (options.exceptSessionUid) {
      for (const session of sessions) {
        if (session.payload.uid !== options.exceptSessionUid)
          await this.models.destroy('Session', session.id);
      }
      return sessions.length - 1;
    }
    await this.models.removeAllOf(accountId);
    return sessions.length;
  }
}
