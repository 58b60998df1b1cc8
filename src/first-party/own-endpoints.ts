import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type * as oidc from 'openid-client';

/**
 * How the provider's own sites reach its protocol endpoints (discovery, /token, /jwks,
 * revocation): over the loopback to this very process's listener, not through the public
 * address. Behind a load balancer that address may not be reachable from inside, and the code,
 * the verifier and the client secret then never leave the machine. The endpoints answer as they
 * would anyone: the sites redeem their codes as any relying party does.
 */
export interface OwnEndpoints {
  /**
   * openid-client's fetch for a sign-in of the browser at `address`: a request to the issuer's
   * address goes to this process instead, vouching for that address (see `vouchedAddress`).
   */
  fetchFor(address: string): oidc.CustomFetch;
  /**
   * The browser address a request of this process to itself vouches for, or undefined for any
   * other request. Every first-party redemption comes from the loopback: counted by that address
   * alone, one person's quick round trips would use up /token's allowance of every sign-in to
   * 用户空间 or the console.
   */
  vouchedAddress(ctx: Context): string | undefined;
  /**
   * The discovery document as the public reads it. The provider names its endpoints after the
   * address it was asked at, here the loopback one; they are named after the issuer again.
   */
  published(metadata: oidc.ServerMetadata): oidc.ServerMetadata;
}

const VOUCH = 'x-unified-id-own';
const ON_BEHALF_OF = 'x-unified-id-browser';

export function ownEndpoints(issuer: string, ownUrl: () => string): OwnEndpoints {
  // Known to this process only, and sent only over the loopback to itself.
  const mark = randomBytes(32).toString('base64url');
  return {
    fetchFor: (address) => (url, options) => {
      if (url !== issuer && !url.startsWith(`${issuer}/`))
        return Promise.reject(new Error(`not an endpoint of this provider: ${url}`));
      const headers = new Headers(options.headers);
      headers.set(VOUCH, mark);
      headers.set(ON_BEHALF_OF, address);
      return fetch(`${ownUrl()}${url.slice(issuer.length)}`, { ...options, headers, redirect: 'manual' });
    },
    vouchedAddress(ctx) {
      const given = ctx.get(VOUCH);
      if (!given) return undefined; // every request but this process's own
      const sent = Buffer.from(given);
      const ok = sent.length === mark.length && timingSafeEqual(sent, Buffer.from(mark));
      return ok ? ctx.get(ON_BEHALF_OF).slice(0, 64) || undefined : undefined;
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
