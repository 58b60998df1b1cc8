import { type Configuration, errors } from 'oidc-provider';
import type { ResourceServerService } from '../resources/resource-server-service.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/**
 * RFC 8707 resource indicators over the registry of APIs. A client that names a registered API
 * with `resource` gets a token whose audience is that API, in the API's format: a JWT (RFC 9068,
 * signed with the provider's current ES256 key, checked by the API against /jwks, never stored)
 * or an opaque token (stored, introspectable, revocable). Without `resource` nothing changes:
 * an opaque token for userinfo, as before.
 */
export function resourceIndicators(
  resources: Pick<ResourceServerService, 'providerInfo'>,
): ResourceIndicators {
  return {
    enabled: true,
    // No resource asked for: none is assumed (the userinfo token); several at /token: refused.
    defaultResource: () => undefined,
    // RFC 8707 §2.2: the site names the API again at /token; without it, it gets the userinfo token.
    useGrantedResource: () => false,
    async getResourceServerInfo(_ctx, identifier) {
      const info = await resources.providerInfo(identifier);
      if (!info) throw new errors.InvalidTarget('the resource is not a registered API');
      return info.accessTokenFormat === 'jwt' ? { ...info, jwt: { sign: { alg: 'ES256' } } } : info;
    },
  };
}

interface TokenWithResource {
  resourceServer?: { accessTokenTTL?: number | undefined } | undefined;
}

/** A token's lifetime: its API's registered one when it has an audience, else `otherwise`. */
export function resourceTtl(otherwise: number) {
  return (_ctx: unknown, token: TokenWithResource) => token.resourceServer?.accessTokenTTL ?? otherwise;
}
