import type { Context, Next } from 'koa';
import { type OperatorRole, RoleForbidden, roleForApiPath } from '../access/operator-roles.js';
import { ACR, acrSatisfies, hasScope } from '../access/scopes.js';
import { AppError } from '../errors.js';
import type { ProviderHost } from '../oidc/provider-host.js';

export class AdminUnauthorized extends AppError {
  // Stryker disable next-line StringLiteral: nothing reads the name; the error handler answers with code and words and logs only 5xx errors (this is 401)
  override name = 'AdminUnauthorized';
  constructor(message = 'a bearer access token with the admin scope is required') {
    super(401, 'invalid_token', message);
  }
}

declare module 'koa' {
  interface DefaultState {
    adminActor?: string;
    /** The one role the caller acts in, person or machine (三员分立). */
    adminRole?: OperatorRole;
  }
}

/**
 * A machine client with the admin scope that acts for no role now: disabled, removed, or
 * registered before roles held for machines.
 */
export class MachineWithoutRole extends AppError {
  // Stryker disable next-line StringLiteral: nothing reads the name; the error handler answers with code and words and logs only 5xx errors (this is 403)
  override name = 'MachineWithoutRole';
  constructor() {
    super(
      403,
      'machine_without_role',
      'this client is disabled, removed, or acts for no operator role (register it again with `unified-id clients add --admin-role`)',
    );
  }
}

/** A person's admin token is refused until they sign in with a second factor or a certificate. */
export class AdminAcrTooWeak extends AppError {
  // Stryker disable next-line StringLiteral: nothing reads the name; the error handler answers with code and words and logs only 5xx errors (this is 401)
  override name = 'AdminAcrTooWeak';
  constructor() {
    // RFC 9470: the client may ask for a new token with acr_values and try again.
    super(401, 'insufficient_user_authentication', 'the admin API needs a sign-in with acr mfa or cert');
  }
}

/**
 * Guards /admin/api: an access token with the `admin` scope, issued by this provider, and every
 * call made in exactly one of the three roles (三员分立). Automation uses client credentials
 * (actor `admin:<client id>`) and acts in the role its client was registered for; a person uses
 * their own sign-in, which must have been at acr mfa or cert (kept on the token when it was
 * issued) by an account that is an operator now (actor `operator:<account id>`). Either reaches
 * only its role's part of the API, read afresh on every call.
 */
export function requireAdmin(
  host: ProviderHost,
  operators: { roleOf(accountId: string): Promise<OperatorRole | undefined> },
  clients: { adminRoleOf(clientId: string): Promise<OperatorRole | undefined> },
) {
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer\s+([\w.~+/-]+=*)$/i.exec(ctx.get('authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer realm="unified-id-admin"');
      throw new AdminUnauthorized();
    }
    const { provider } = host;
    const machine = await provider.ClientCredentials.find(match[1]!);
    const token = machine ?? (await provider.AccessToken.find(match[1]!));
    if (!token || token.isExpired) throw new AdminUnauthorized('the access token is invalid or expired');
    if (!hasScope(token.scope, 'admin'))
      throw new AppError(403, 'insufficient_scope', 'the admin scope is required');
    const needed = roleForApiPath(ctx.path);
    if (machine) {
      const role = token.clientId ? await clients.adminRoleOf(token.clientId) : undefined;
      if (!role) throw new MachineWithoutRole();
      if (needed !== role) throw new RoleForbidden(role, needed);
      ctx.state.adminActor = `admin:${token.clientId}`;
      ctx.state.adminRole = role;
      return next();
    }
    const accountId = (token as { accountId?: string }).accountId;
    // Not narrowed to a string first: acrSatisfies compares with the ACR strings only, so a value
    // of any other type is below mfa (the test tries a number).
    const acr = (token as { extra?: { acr?: string } }).extra?.acr;
    if (!acrSatisfies(acr, ACR.mfa)) {
      ctx.set('WWW-Authenticate', `Bearer error="insufficient_user_authentication", acr_values="${ACR.mfa}"`);
      throw new AdminAcrTooWeak();
    }
    const role = accountId ? await operators.roleOf(accountId) : undefined;
    if (!role) throw new AppError(403, 'not_an_operator', 'this account is not an operator of the admin API');
    // 三员分立: checked here, before any route runs, so no endpoint can forget it.
    if (needed !== role) throw new RoleForbidden(role, needed);
    ctx.state.adminActor = `operator:${accountId}`;
    ctx.state.adminRole = role;
    return next();
  };
}
