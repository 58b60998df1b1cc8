import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import type { ProviderHost } from '../oidc/provider-host.js';

export class AdminUnauthorized extends AppError {
  override name = 'AdminUnauthorized';
  constructor(message = 'a bearer access token with the admin scope is required') {
    super(401, 'invalid_token', message);
  }
}

declare module 'koa' {
  interface DefaultState {
    adminActor?: string;
  }
}

/**
 * Guards /admin/api: an access token with the `admin` scope, issued by this provider (client
 * credentials for automation). The actor — `admin:<client id>` — goes into every audit row.
 */
export function requireAdmin(host: ProviderHost) {
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer\s+([\w.~+/-]+=*)$/i.exec(ctx.get('authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer realm="unified-id-admin"');
      throw new AdminUnauthorized();
    }
    const { provider } = host;
    const token =
      (await provider.ClientCredentials.find(match[1]!)) ?? (await provider.AccessToken.find(match[1]!));
    if (!token || token.isExpired) throw new AdminUnauthorized('the access token is invalid or expired');
    const scopes = new Set(String(token.scope ?? '').split(' '));
    if (!scopes.has('admin')) throw new AppError(403, 'insufficient_scope', 'the admin scope is required');
    ctx.state.adminActor = `admin:${token.clientId}`;
    await next();
  };
}
