import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { ConsentStore } from './consent-store.js';

/**
 * Consent is remembered per account and site. A first-party site (the provider's own pages,
 * provincial portal) never shows the consent page; others see it only for data not agreed before.
 */
export class ConsentService {
  constructor(private readonly store: ConsentStore) {}

  async loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
    const { provider, client, session } = ctx.oidc;
    const firstParty = client?.['first_party'] === true;
    const grantId = ctx.oidc.result?.['consent']?.grantId ?? session?.grantIdFor(client!.clientId);
    if (grantId) {
      const grant = await provider.Grant.find(grantId);
      // A first-party site never shows the consent page, also when it later asks for more.
      if (grant && firstParty) await this.grantAllRequested(ctx, grant);
      if (grant) return grant;
    }
    const accountId = session?.accountId;
    if (!accountId || !client) return undefined;

    if (firstParty) {
      const grant = new provider.Grant({ clientId: client.clientId, accountId });
      await this.grantAllRequested(ctx, grant, true);
      return grant;
    }

    const remembered = await this.store.find(accountId, client.clientId);
    if (!remembered) return undefined;
    const grant = new provider.Grant({ clientId: client.clientId, accountId });
    grant.addOIDCScope(remembered.scope);
    if (remembered.claims.length) grant.addOIDCClaims(remembered.claims);
    await grant.save();
    return grant;
  }

  /** Saved only when new or widened: a signed-in person's every /auth would rewrite it otherwise. */
  private async grantAllRequested(ctx: KoaContextWithOIDC, grant: Grant, isNew = false) {
    const before = grantedOf(grant);
    grant.addOIDCScope([...(ctx.oidc.requestParamScopes ?? [])].join(' '));
    grant.addOIDCClaims([...(ctx.oidc.requestParamClaims ?? [])]);
    // The scopes asked of each API named with `resource` (RFC 8707) that the API has.
    const requested = [...(ctx.oidc.requestParamScopes ?? [])];
    for (const [identifier, api] of Object.entries(ctx.oidc.resourceServers ?? {})) {
      const scopes = requested.filter((s) => api.scopes.has(s));
      if (scopes.length) grant.addResourceScope(identifier, scopes.join(' '));
    }
    if (isNew || grantedOf(grant) !== before) await grant.save();
  }

  /** 已授权网站: the sites this person agreed to share data with. */
  listFor(accountId: string) {
    return this.store.forAccount(accountId);
  }

  /** Forgets the consent; the caller also revokes the site's grants and tokens. */
  forget(accountId: string, clientId: string) {
    return this.store.remove(accountId, clientId);
  }

  /** Records what the person agreed to, merged with what they agreed to before. */
  async remember(accountId: string, clientId: string, scopes: string[], claims: string[]) {
    const before = await this.store.find(accountId, clientId);
    const scope = [...new Set([...(before?.scope.split(' ') ?? []), ...scopes])].filter(Boolean).join(' ');
    await this.store.save({
      account_id: accountId,
      client_id: clientId,
      scope,
      claims: [...new Set([...(before?.claims ?? []), ...claims])],
    });
  }
}

const grantedOf = (grant: Grant) =>
  JSON.stringify([grant.getOIDCScope(), [...grant.getOIDCClaims()].sort(), grant.resources ?? {}]);
