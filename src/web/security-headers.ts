import type { Middleware } from 'koa';

/**
 * Set before anything else runs, so that oidc-provider can add the hash of its own
 * form_post script to script-src rather than anyone needing 'unsafe-inline'.
 */
export function securityHeaders(bridgeUrl: string): Middleware {
  // Built once: every request, /token's included, carries it.
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    // The certificate page talks to the local PKCS#11 bridge.
    `connect-src 'self' ${new URL(bridgeUrl).origin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', policy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
