import { type Command, InvalidArgumentError } from 'commander';
import { cliEnv } from './io.js';

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

/**
 * `unified-id bridge`: the local 证书助手 between the login page and a USB key, for developers
 * and IT; it shares its code with the installable helper (src/helper).
 */
export function registerBridge(program: Command) {
  program
    .command('bridge')
    .description(
      'local certificate helper: lists and signs with a USB key (PKCS#11 or SKF), for the provider’s page only',
    )
    .option(
      '--module <path>',
      'the PKCS#11 or SKF library of the USB key (e.g. /usr/lib/softhsm/libsofthsm2.so); looked for when absent',
    )
    .option(
      '--slot <n>',
      'with a PKCS#11 --module: slot index among those with a token',
      integerIn(0, 1023, 'a slot index'),
      0,
    )
    .option('--port <port>', 'port on 127.0.0.1', integerIn(0, 65535, 'a port'), 41443)
    .option(
      '--origin <url>',
      'the provider whose pages may use the bridge',
      httpOrigin,
      cliEnv()['ISSUER'] ?? 'http://localhost:3000',
    )
    .action(async (o: { module?: string; slot: number; port: number; origin: string }) => {
      // Loaded here so that the rest of the CLI does not need the FFI layer.
      const { serveUntilSignal, tokensOf } = await import('../helper/serve.js');
      const { discoverLibraries, examineLibrary } = await import('../helper/discover.js');
      if (!o.module) {
        const { readRegisteredSkf } = await import('../helper/windows-registry.js');
        const { token, sources } = tokensOf(() => discoverLibraries({ registeredSkf: readRegisteredSkf }));
        await serveUntilSignal({
          token,
          origins: [o.origin],
          port: o.port,
          describe: () =>
            `libraries: ${
              sources
                .current()
                .map((s) => s.path)
                .join(', ') || 'none found yet'
            }`,
        });
        return;
      }
      const { hasSymbolWhenLoaded } = await import('../helper/symbol-lookup.js');
      const library = examineLibrary(o.module, 'named with --module', { named: true, hasSymbolWhenLoaded });
      if (library?.problem) throw new Error(`${o.module}: ${library.problem}`);
      const { Pkcs11Token } = await import('../bridge/token.js');
      const { SkfToken } = await import('../bridge/skf-token.js');
      // A PKCS#11 module keeps the token's own CKA_IDs as certificate ids, as before discovery existed.
      const token =
        library?.kinds.includes('pkcs11') !== false
          ? new Pkcs11Token(o.module, o.slot)
          : new SkfToken(o.module);
      await serveUntilSignal({
        token,
        origins: [o.origin],
        port: o.port,
        describe: () => `token: ${token.info().token}`,
      });
    });
}
