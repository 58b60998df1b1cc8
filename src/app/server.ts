import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { ensureAccountSpaceClient } from '../account-space/account-context.js';
import type { Config } from '../config.js';
import { ensureConsoleClient } from '../console/console-context.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrate, underStartupLock } from '../db/migrate.js';
import { ensureDemoClient } from '../dev/demo-rp.js';
import { ownUrlOf } from '../first-party/own-endpoints.js';
import { AccountClaimsSource } from '../oidc/account-claims.js';
import { createAdapterFactory } from '../oidc/adapter.js';
import { ProviderHost } from '../oidc/provider-host.js';
import { createLogger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { startMetricsListener } from '../ops/metrics-access.js';
import { loadTrustStore } from '../pki/trust-store.js';
import { Views } from '../web/views.js';
import { type AppDeps, createApp } from './app.js';
import { createServices, type ServiceOptions, type Services } from './services.js';

export interface RunningServer {
  url: string;
  server: Server;
  services: Services;
  host: ProviderHost;
  database: Database;
  demoClient?: { clientId: string; clientSecret: string } | undefined;
  /** The private /metrics listener's address, when METRICS_PORT is set. */
  metricsUrl?: string | undefined;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  stop(): Promise<void>;
}

/**
 * Start-up: open the database, migrate under the advisory lock, make sure signing keys exist,
 * build the provider and listen. Used by `npm start`, the CLI and the tests alike.
 */
export async function startServer(
  config: Config,
  options: {
    logger?: Logger;
    database?: Database;
    loginMethods?: AppDeps['loginMethods'];
    /** What the tests' servers choose differently from a deployment (signing keys, password cost). */
    services?: ServiceOptions;
  } = {},
) {
  const logger = options.logger ?? createLogger(config.logLevel);
  // A shared embedded database stands in for "another process on the same PostgreSQL" in tests.
  const ownsDatabase = !options.database;
  const database =
    options.database ??
    openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolMax: config.databasePoolMax,
      initialiseApart: true,
    });
  try {
    const { applied } = await migrate(database.db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    const services = createServices(config, database.db, logger, options.services);
    await services.keys.ensureKeys();
    services.trust.store = await loadTrustStore({
      dir: config.certsDir,
      includeDev: config.devMode,
      // Chinese CAs differ in where they put the credit code; operators name the extra fields.
      fieldMap: Object.fromEntries(config.certCreditCodeOids.map((oid) => [oid, 'creditCode' as const])),
    });
    const views = new Views({ cache: config.env === 'production', devMode: config.devMode });
    const host = await ProviderHost.create(
      {
        config,
        views,
        adapter: createAdapterFactory(services.models, services.clients, services.resources),
        accounts: new AccountClaimsSource(services.accounts, services.legalPersons, services.models),
        consents: services.consents,
        resources: services.resources,
        pairwiseSalt: services.protector.deriveKey('unified-id/pairwise'),
      },
      services.keys,
      {
        proxyHops: config.proxyHops,
        log: logger,
        // 登录设备 shows where and with what each SSO session was opened.
        onAuthorized: async (ctx) => {
          const session = ctx.oidc.session;
          if (!session?.accountId || !session.uid) return;
          await services.sessionMeta.opened({
            session_uid: session.uid,
            account_id: session.accountId,
            ip: ctx.ip,
            user_agent: ctx.get('user-agent'),
            ttlSeconds: config.ssoSessionTtl,
          });
        },
        // 退出: the whole SSO session, or (保持登录) only the site that asked.
        onLoggedOut: async (ctx) => {
          const accountId = ctx.oidc.session?.accountId;
          if (!accountId) return;
          await services.audit.record({
            type: 'logout',
            outcome: 'success',
            accountId,
            ip: ctx.ip,
            userAgent: ctx.get('user-agent'),
            detail: {
              clientId: ctx.oidc.client?.clientId ?? null,
              scope: ctx.oidc.params?.['logout'] ? 'all_sites' : 'this_site',
            },
          });
        },
      },
    );
    const { accountSpaceClientId, consoleClientId, demoClient } = await underStartupLock(
      database,
      async () => ({
        accountSpaceClientId: await ensureAccountSpaceClient(services.clients, config.issuer),
        consoleClientId: await ensureConsoleClient(services.clients, config.issuer),
        demoClient: config.demoClient ? await ensureDemoClient(services.clients, config.issuer) : undefined,
      }),
    );
    const metrics = new Metrics();
    let stopping = false;
    let ownUrl: string | undefined;
    const app = createApp({
      accountSpaceClientId,
      consoleClientId,
      config,
      db: database.db,
      services,
      host,
      views,
      metrics,
      logger,
      isStopping: () => stopping,
      ...(options.loginMethods ? { loginMethods: options.loginMethods } : {}),
      ownUrl: () => {
        if (!ownUrl) throw new Error('not listening yet');
        return ownUrl;
      },
    });
    const server = createServer(app.callback());
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    ownUrl = ownUrlOf(address);
    const port = typeof address === 'object' && address ? address.port : config.port;
    const metricsPort = config.metrics.port;
    const metricsServer =
      metricsPort === undefined
        ? undefined
        : await startMetricsListener(metrics, { ...config.metrics, port: metricsPort }).catch((err) => {
            server.close();
            throw err;
          });
    const metricsAddress = metricsServer?.address();
    host.startWatching(config.keyRefreshSeconds);
    services.sweeper.start();
    services.tokenLimiter.start();
    services.audit.sealer.start();

    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= (async () => {
        stopping = true;
        if (config.shutdownDrainMs) await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
        host.stopWatching();
        services.sweeper.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceSeconds * 1000);
        await closed;
        clearTimeout(grace);
        if (metricsServer) {
          const metricsClosed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
          metricsServer.closeAllConnections();
          await metricsClosed;
        }
        await services.tokenLimiter.stop();
        // Chains what this process's last requests wrote, and sends out checkpoints in flight.
        await services.audit.sealer.stop();
        if (ownsDatabase) await database.close();
      })();
      return stopped;
    };
    const running: RunningServer = {
      url: `http://127.0.0.1:${port}`,
      server,
      services,
      host,
      database,
      demoClient,
      metricsUrl:
        typeof metricsAddress === 'object' && metricsAddress
          ? `http://${config.metrics.host}:${metricsAddress.port}`
          : undefined,
      stop,
    };
    return running;
  } catch (err) {
    if (ownsDatabase) await database.close().catch(() => {});
    throw err;
  }
}
