import { type Command, InvalidArgumentError } from 'commander';

// Bad values are refused by commander with one sentence, rather than as a NaN deep in the token module or listen().
function integerIn(min: number, max: number, what: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`not ${what}`);
    return n;
  };
}

function httpOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('not an http(s) origin');
  return url.origin;
}

/** `unified-id bridge`: the local 证书助手 between the login page and a PKCS#11 USB key. */
export function registerBridge(program: Command) {
  program
    .command('bridge')
    .description(
      'local certificate helper: lists and signs with a PKCS#11 token, for the provider’s page only',
    )
    .requiredOption(
      '--module <path>',
      'the PKCS#11 library of the USB key (e.g. /usr/lib/softhsm/libsofthsm2.so)',
    )
    .option('--slot <n>', 'slot index among those with a token', integerIn(0, 1023, 'a slot index'), 0)
    .option('--port <port>', 'port on 127.0.0.1', integerIn(0, 65535, 'a port'), 41443)
    .option(
      '--origin <url>',
      'the provider whose pages may use the bridge',
      httpOrigin,
      process.env['ISSUER'] ?? 'http://localhost:3000',
    )
    .action(async (o: { module: string; slot: number; port: number; origin: string }) => {
      // Loaded here so that the rest of the CLI does not need the native module.
      const { Pkcs11Token } = await import('../bridge/token.js');
      const { startBridge } = await import('../bridge/bridge-server.js');
      const token = new Pkcs11Token(o.module, o.slot);
      const bridge = await startBridge({ token, origins: [o.origin], port: o.port }).catch((err: unknown) => {
        token.close();
        throw err;
      });
      console.log(
        `证书助手 listening on ${bridge.url} for ${new URL(o.origin).origin} (token: ${token.info().token})`,
      );
      const stop = () =>
        bridge.close().then(() => {
          token.close();
          process.exit(0);
        });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
