import type { Logger } from 'pino';
import type { ModelStore } from './model-store.js';
import type { ProviderHost } from './provider-host.js';

interface SessionPayload {
  uid?: string;
  accountId?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

// Client#backchannelLogout is oidc-provider's own logout-token delivery (missing from its types).
type LoggingOutClient = {
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string): Promise<void>;
};

/**
 * Ends sessions of an account (password reset or change, 登录设备 退出, closure, an operator's
 * lock): each site that took part is told by back-channel logout, then the sessions and their
 * grants and tokens go. Without a provider (the command line) the sites are not told; the rest
 * is the same.
 */
export class SessionRevoker {
  constructor(
    private readonly models: ModelStore,
    private readonly host: ProviderHost | undefined,
    private readonly log: Logger,
  ) {}

  /** Every session, grant, code and token of the account. */
  async revokeAll(accountId: string): Promise<number> {
    const ended = await this.revokeSessions(accountId, () => true);
    await this.models.removeAllOf(accountId);
    return ended;
  }

  /** The sessions `which` selects, with the grants issued in them. */
  async revokeSessions(accountId: string, which: (sessionUid: string) => boolean): Promise<number> {
    const sessions = (await this.models.sessionsOf(accountId)).filter((s) => which(String(s.payload.uid)));
    await Promise.all(
      sessions.map(async (session) => {
        const payload = session.payload as SessionPayload;
        for (const [clientId, authorization] of Object.entries(payload.authorizations ?? {})) {
          await this.notify(accountId, clientId, authorization.sid ?? '');
          if (authorization.grantId) {
            await this.models.revokeByGrantId(authorization.grantId);
            // The grant itself too: a JWT access token, never stored, is answered from it at
            // introspection (src/oidc/introspection.ts).
            await this.models.destroy('Grant', authorization.grantId);
          }
        }
        await this.models.destroy('Session', session.id);
      }),
    );
    return sessions.length;
  }

  private async notify(accountId: string, clientId: string, sid: string) {
    if (!this.host) return;
    try {
      const client = (await this.host.provider.Client.find(clientId)) as unknown as
        | LoggingOutClient
        | undefined;
      if (client?.backchannelLogoutUri) await client.backchannelLogout(accountId, sid);
    } catch (err) {
      this.log.warn({ clientId, err: (err as Error).message }, 'back-channel logout failed');
    }
  }
}
