import { startBridge } from '../bridge/bridge-server.js';
import type { BridgeToken } from '../bridge/token.js';
import { CompositeToken } from './composite-token.js';
import type { FoundLibrary } from './discover.js';
import { DiscoveredSources } from './token-sources.js';

/** A token the helper serves and closes when it stops. */
export type ClosableToken = BridgeToken & { close(): void };

/**
 * Every token of the libraries `find` returns, behind one BridgeToken. `find` is called again
 * at most every 30 seconds, so a driver installed while the helper runs is picked up.
 */
export function tokensOf(find: () => FoundLibrary[]): { token: ClosableToken; sources: DiscoveredSources } {
  const sources = new DiscoveredSources(find);
  sources.refresh();
  return { token: new CompositeToken(sources), sources };
}

/**
 * Starts the local HTTP service on 127.0.0.1 and keeps it until SIGINT or SIGTERM, then
 * closes the token (C_Finalize, library unloaded) and exits.
 */
export async function serveUntilSignal(options: {
  token: ClosableToken;
  origins: string[];
  port: number;
  describe: () => string;
  log?: (line: string) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const bridge = await startBridge({
    token: options.token,
    origins: options.origins,
    port: options.port,
  }).catch((err: unknown) => {
    options.token.close();
    throw err;
  });
  log(
    `证书助手 listening on ${bridge.url} for ${options.origins.map((o) => new URL(o).origin).join(', ')} (${options.describe()})`,
  );
  const stop = () =>
    bridge.close().then(() => {
      options.token.close();
      process.exit(0);
    });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return bridge;
}
