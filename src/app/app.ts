import Koa from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AccountSpaceDeps } from '../account-space/account-context.js';
import { accountRoutes } from '../account-space/account-routes.js';
import { alipayCertifyRoutes } from '../account-space/alipay-certify-routes.js';
import { adminRoutes } from '../admin/admin-routes.js';
import { MethodWords } from '../audit/audit-words.js';
import type { Config } from '../config.js';
import { consoleRoutes } from '../console/console-routes.js';
import { cookieKeys } from '../crypto/cookie-keys.js';
import { type CryptoProfile, hashOf, otherProfile } from '../crypto/profile.js';
import type { DataProtector } from '../crypto/sealed.js';
import type { Db } from '../db/database.js';
import { openWriteBatch } from '../db/write-batch.js';
import { demoRpRoutes } from '../dev/demo-rp.js';
import { devRoutes } from '../dev/dev-routes.js';
import { HelperFiles } from '../downloads/helper-files.js';
import { helperRoutes } from '../downloads/helper-routes.js';
import { ownEndpoints } from '../first-party/own-endpoints.js';
import { interactionRoutes } from '../flows/interaction-routes.js';
import { LOGIN_METHODS } from '../flows/methods/index.js';
import type { LoginMethod, MethodSources } from '../flows/methods/login-method.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import {
  acceptPostAsGet,
  pushedRequestOwner,
  registeredAuthMethod,
  tokenRateLimit,
} from '../oidc/request-guards.js';
import { SessionRevoker } from '../oidc/session-revoker.js';
import type { Metrics } from '../ops/metrics.js';
import { publicMetrics } from '../ops/metrics-access.js';
import { opsRoutes } from '../ops/ops-routes.js';
import { pendingBeforeResponse } from '../web/before-response.js';
import { Csrf, type CsrfKey } from '../web/csrf.js';
import { displayMode, displayRoutes } from '../web/display-mode.js';
import { errorHandler } from '../web/error-handler.js';
import { requestContext } from '../web/request-context.js';
import { securityHeaders } from '../web/security-headers.js';
import { staticFiles } from '../web/static-files.js';
import type { Views } from '../web/views.js';
import type { Services } from './services.js';

export interface AppDeps {
  accountSpaceClientId: string;
  consoleClientId: string;
  config: Config;
  db: Db;
  services: Services;
  host: ProviderHost;
  views: Views;
  metrics: Metrics;
  logger: Logger;
  isStopping: () => boolean;
  /** The sign-in methods, when not the registry's (a test adds a throw-away one). */
  // biome-ignore lint/suspicious/noExplicitAny: each method builds dependencies of its own type
  loginMethods?: readonly LoginMethod<MethodSources<Services>, any>[];
  /** Where this process answers itself (its listener, known once it listens). */
  ownUrl: () => string;
}

/** oidc-provider's endpoints that no page or API of ours shares a path with. */
const PROTOCOL_PATHS: ReadonlySet<string> = new Set([
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/me',
  '/jwks',
  '/.well-known/openid-configuration',
]);

/** The Koa application: our pages and ops routes first, oidc-provider's protocol endpoints last. */
export function createApp(deps: AppDeps): Koa {
  const { config, services } = deps;
  const app = new Koa({
    proxy: config.proxyHops > 0,
    maxIpsCount: config.proxyHops,
    // Koa's cookies take a keygrip in place of the list: HMAC-SM3 under CRYPTO_PROFILE=gm.
    keys: cookieKeys(config.cookieKeys, config.cryptoProfile) as unknown as string[],
  });
  app.silent = true; // errors are logged by our handler with the request id
  const csrf = new Csrf(csrfKeys(services.protector));
  const loginMethods = deps.loginMethods ?? LOGIN_METHODS;
  // What the log's method words read as on every page of this server: its own methods' names.
  const methodWords = MethodWords.of(loginMethods);

  const authorizationWrites = openWriteBatch(deps.db, deps.logger);
  const revoker = new SessionRevoker(services.models, deps.host, deps.logger);
  // 用户空间 and the console redeem their codes at /token of this very process.
  const endpoints = ownEndpoints(config.issuer, deps.ownUrl);

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(securityHeaders(config.certBridgeUrl));
  // oidc-provider's busiest endpoints (PROTOCOL_PATHS) answer JSON and share no path with a page:
  // they pass the display mode, the static files and every router of ours by, since each of
  // those would otherwise run (a cookie read, a route table tried) on every /token and /me.
  const pages = <C extends Koa.Context>(middleware: (ctx: C, next: Koa.Next) => unknown) =>
    app.use((ctx, next) => (PROTOCOL_PATHS.has(ctx.path) ? next() : middleware(ctx as C, next)));
  // Before the error handler, so that error pages too know the display mode.
  pages(displayMode());
  app.use(errorHandler(deps.views));
  pages(staticFiles());
  pages(helperRoutes({ files: new HelperFiles(config.helperDir), views: deps.views }).routes());
  pages(displayRoutes().routes());
  pages(
    opsRoutes(deps.db, deps.metrics, deps.isStopping, {
      mode: publicMetrics(config.metrics, config.env === 'production'),
      token: config.metrics.token,
    }).routes(),
  );
  pages(
    interactionRoutes(
      {
        writeBatch: openWriteBatch(deps.db, deps.logger),
        methodWords,
        host: deps.host,
        views: deps.views,
        csrf,
        accounts: services.accounts,
        realName: services.realName,
        captcha: services.captcha,
        sms: services.sms,
        flowStates: services.flowStates,
        consents: services.consents,
        limiter: services.limiter,
        loginGuard: services.loginGuard,
        revoker,
        metrics: deps.metrics,
        audit: services.audit,
        totp: services.totp,
        legalPersons: services.legalPersons,
        representativeConfirmations: services.representativeConfirmations,
        devVerifier: services.outside.identity.kind === 'dev',
        alipayConfigured: services.alipay.configured,
      },
      // Each sign-in method takes from these what it uses.
      { services, config },
      loginMethods,
    ).routes(),
  );
  const accountSpace: AccountSpaceDeps = {
    issuer: config.issuer,
    idleTimeoutSeconds: config.accountIdleTimeout,
    host: deps.host,
    views: deps.views,
    csrf,
    accounts: services.accounts,
    realName: services.realName,
    totp: services.totp,
    sms: services.sms,
    captcha: services.captcha,
    audit: services.audit,
    methodWords,
    clients: services.clients,
    consents: services.consents,
    models: services.models,
    revoker,
    sessionMeta: services.sessionMeta,
    flowStates: services.flowStates,
    accountSpaceClientId: deps.accountSpaceClientId,
    certificates: services.certificates,
    bridgeUrl: config.certBridgeUrl,
    alipay: services.alipay,
    legalPersons: services.legalPersons,
    phoneChanges: services.phoneChanges,
    endpoints,
    logger: deps.logger,
  };
  pages(accountRoutes(accountSpace).routes());
  // 支付宝认证 from 用户空间, at /alipay/certify/start and Alipay's one redirect_uri, which it shares
  // with 支付宝登录 (each answers only its own trips there).
  pages(alipayCertifyRoutes({ ...accountSpace, limiter: services.limiter, metrics: deps.metrics }).routes());
  pages(
    adminRoutes({
      host: deps.host,
      clients: services.clients,
      accounts: services.accounts,
      keys: services.keys,
      resources: services.resources,
      audit: services.audit,
      revoker,
      queries: services.adminQueries,
      operators: services.operators,
    }).routes(),
  );
  pages(
    consoleRoutes({
      issuer: config.issuer,
      consoleClientId: deps.consoleClientId,
      idleTimeoutSeconds: config.consoleIdleTimeout,
      builtInClientIds: [deps.consoleClientId, deps.accountSpaceClientId],
      host: deps.host,
      views: deps.views,
      csrf,
      flowStates: services.flowStates,
      clients: services.clients,
      accounts: services.accounts,
      keys: services.keys,
      audit: services.audit,
      methodWords,
      operators: services.operators,
      queries: services.adminQueries,
      revoker,
      loginGuard: services.loginGuard,
      realName: services.realName,
      certificates: services.certificates,
      alipay: services.alipay,
      legalPersons: services.legalPersons,
      models: services.models,
      resources: services.resources,
      endpoints,
      logger: deps.logger,
    }).routes(),
  );
  if (config.devMode) {
    pages(
      devRoutes({
        db: deps.db,
        captcha: services.captcha,
        devSmsOutbox: services.outside.sms.kind === 'dev',
      }).routes(),
    );
  }
  if (config.demoClient) {
    pages(
      demoRpRoutes({
        issuer: config.issuer,
        clients: services.clients,
        flowStates: services.flowStates,
        views: deps.views,
        csrf,
      }).routes(),
    );
  }

  // What oidc-provider has no hook for (src/oidc/request-guards.ts): POST at /auth and
  // /session/end, the rate of /token, the registered client authentication method, the owner of a
  // pushed request.
  app.use(acceptPostAsGet());
  app.use(tokenRateLimit(services.tokenLimiter, (ctx) => endpoints.vouchedAddress(ctx) ?? ctx.ip));
  app.use(registeredAuthMethod(services.clients, config.issuer));
  app.use(pushedRequestOwner(services.models, deps.views));

  const mounted = new WeakMap<Provider, Koa.Middleware>();
  // Not async itself: the layers below are (one promise per layer and request, each with the
  // promise hooks' work).
  app.use((ctx, next) => {
    const provider = deps.host.provider;
    let middleware = mounted.get(provider);
    if (!middleware) {
      middleware = mount(provider as unknown as Koa);
      mounted.set(provider, middleware);
    }
    const serve = async () => {
      await middleware!(ctx, next);
      // The provider's event handlers (the logout's audit row) finish before the browser moves on.
      const pending = pendingBeforeResponse(ctx);
      if (pending) await pending;
    };
    // The authorization endpoint and its resume take part in a write batch: the interaction
    // destroyed, the session, the grant, the code and the device record saved, as one statement
    // before the redirect leaves.
    return ctx.path === '/auth' || ctx.path.startsWith('/auth/') ? authorizationWrites(ctx, serve) : serve();
  });
  return app;
}

/** The CSRF token's HMAC and key under the configured profile first, then under the other. */
function csrfKeys(protector: DataProtector): [CsrfKey, CsrfKey] {
  const keyOf = (profile: CryptoProfile): CsrfKey => ({
    hash: hashOf(profile),
    key: protector.deriveProfileKey('unified-id/csrf', profile),
  });
  return [keyOf(protector.profile), keyOf(otherProfile(protector.profile))];
}
