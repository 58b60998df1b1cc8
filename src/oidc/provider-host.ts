import { type KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { type ProviderDependencies, providerConfiguration } from './configuration.js';
import type { KeyService } from './keys/key-service.js';

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
    private readonly trustProxy: boolean,
    private readonly log: Logger,
    private readonly onAuthorized?: (ctx: KoaContextWithOIDC) => Promise<void>,
  ) {}

  static async create(
    deps: Omit<ProviderDependencies, 'jwks'>,
    keys: KeyService,
    options: { trustProxy: boolean; log: Logger; onAuthorized?: (ctx: KoaContextWithOIDC) => Promise<void> },
  ): Promise<ProviderHost> {
    const host = new ProviderHost(deps, keys, options.trustProxy, options.log, options.onAuthorized);
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
      providerConfiguration({ ...this.deps, jwks: { keys } }),
    );
    provider.proxy = this.trustProxy;
    provider.on('server_error', (_ctx, err) => this.log.error({ err }, 'oidc-provider server error'));
    provider.on('backchannel.error', (_ctx, err, client) =>
      this.log.warn({ err: (err as Error).message, clientId: client.clientId }, 'back-channel logout failed'),
    );
    const onAuthorized = this.onAuthorized;
    if (onAuthorized) {
      provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
        onAuthorized(ctx).catch((err: Error) =>
          this.log.warn({ err: err.message }, 'session bookkeeping failed'),
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
