import type * as oidc from 'openid-client';

/**
 * How the provider's own sites reach its protocol endpoints (discovery, /token, /jwks,
 * revocation): over the loopback to this very process's listener, not through the public
 * address. Behind a load balancer that address may not be reachable from inside, and the code,
 * the verifier and the client secret then never leave the machine. The endpoints answer as they
 * would anyone: the sites redeem their codes as any relying party does.
 */
export interface OwnEndpoints {
  /** openid-client's fetch: a request to the issuer's address goes to this process instead. */
  fetch: oidc.CustomFetch;
  /**
   * The discovery document as the public reads it. The provider names its endpoints after the
   * address it was asked at, here the loopback one; they are named after the issuer again.
   */
  published(metadata: oidc.ServerMetadata): oidc.ServerMetadata;
}

export function ownEndpoints(issuer: string, ownUrl: () => string): OwnEndpoints {
  return {
    fetch: (url, options) => {
      if (url !== issuer && !url.startsWith(`${issuer}/`))
        return Promise.reject(new Error(`not an endpoint of this provider: ${url}`));
      return fetch(`${ownUrl()}${url.slice(issuer.length)}`, { ...options, redirect: 'manual' });
    },
    published(metadata) {
      const own = ownUrl();
      const entries = Object.entries(metadata).map(([key, value]) => [
        key,
        typeof value === 'string' && (value === own || value.startsWith(`${own}/`))
          ? `${issuer}${value.slice(own.length)}`
          : value,
      ]);
      return Object.fromEntries(entries) as oidc.ServerMetadata;
    },
  };
}

/** The URL this process answers on from itself: the listener's address, wildcards made loopback. */
export function ownUrlOf(address: string | { address: string; port: number; family: string } | null): string {
  if (!address || typeof address === 'string') throw new Error('the server listens on no TCP port');
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
