import { type KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { finishBeforeResponse } from '../web/before-response.js';
import { type ProviderDependencies, providerConfiguration } from './configuration.js';
import { introspectionExtras } from './introspection.js';
import type { KeyService } from './keys/key-service.js';
import { NodeSigningKey } from './keys/node-signing-key.js';

/** What the server does after oidc-provider's own work, on every instance it builds. */
export interface ProviderHooks {
  /** After an authorization request succeeded (a code went to a site). */
  onAuthorized?: ((ctx: KoaContextWithOIDC) => Promise<void>) | undefined;
  /** After 退出 (RP-initiated logout) was confirmed. */
  onLoggedOut?: ((ctx: KoaContextWithOIDC) => Promise<void>) | undefined;
}

/**
 * Holds the live oidc-provider instance. Its keystore is fixed at construction, so when the
 * published keys change (a rotation by any process) a new instance is built from the database;
 * requests already running finish on the old one.
 */
export class ProviderHost {
  #provider!: Provider;
  #version = '';
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly deps: Omit<ProviderDependencies, 'jwks'>,
    private readonly keys: KeyService,
    private readonly proxyHops: number,
    private readonly log: Logger,
    private readonly hooks: ProviderHooks,
  ) {}

  static async create(
    deps: Omit<ProviderDependencies, 'jwks'>,
    keys: KeyService,
    options: { proxyHops: number; log: Logger } & ProviderHooks,
  ): Promise<ProviderHost> {
    const host = new ProviderHost(deps, keys, options.proxyHops, options.log, options);
    await host.reload();
    return host;
  }

  get provider(): Provider {
    return this.#provider;
  }

  /** Rebuilds the provider when the published key set differs from the one it was built with. */
  async refresh(): Promise<boolean> {
    if ((await this.keys.version()) === this.#version) return false;
    await this.reload();
    return true;
  }

  async reload(): Promise<void> {
    const { keys, version } = await this.keys.providerJwks();
    const provider = new Provider(
      this.deps.config.issuer,
      providerConfiguration({
        ...this.deps,
        jwks: { keys: keys.map((k) => new NodeSigningKey(k as typeof k & { kid: string; alg: string })) },
      }),
    );
    // The same reading of X-Forwarded-For as the app's (src/app/app.ts): 登录设备 and the logout's
    // audit row take the client's address from here.
    provider.proxy = this.proxyHops > 0;
    provider.maxIpsCount = this.proxyHops;
    // JWT access tokens at introspection, and public clients refused there (RFC 7662 §2.1, §2.2).
    provider.use(introspectionExtras({ issuer: this.deps.config.issuer, keys }));
    provider.on('server_error', (_ctx, err) => this.log.error({ err }, 'oidc-provider server error'));
    provider.on('backchannel.error', (_ctx, err, client) =>
      this.log.warn({ err: (err as Error).message, clientId: client.clientId }, 'back-channel logout failed'),
    );
    const { onAuthorized, onLoggedOut } = this.hooks;
    if (onAuthorized) {
      provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
        onAuthorized(ctx).catch((err: Error) =>
          this.log.warn({ err: err.message }, 'session bookkeeping failed'),
        );
      });
    }
    if (onLoggedOut) {
      provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
        finishBeforeResponse(
          ctx,
          onLoggedOut(ctx).catch((err: Error) => this.log.error({ err: err.message }, 'logout audit failed')),
        );
      });
    }
    this.#provider = provider;
    if (this.#version && this.#version !== version) this.log.info({ version }, 'signing keys reloaded');
    this.#version = version;
  }

  startWatching(intervalSeconds: number) {
    this.#timer = setInterval(() => {
      this.refresh().catch((err) => this.log.warn({ err: (err as Error).message }, 'key refresh failed'));
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  stopWatching() {
    clearInterval(this.#timer);
  }
}
