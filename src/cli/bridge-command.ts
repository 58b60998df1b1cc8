import type { Command } from 'commander';

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
    .option('--slot <n>', 'slot index among those with a token', '0')
    .option('--port <port>', 'port on 127.0.0.1', '41443')
    .option(
      '--origin <url>',
      'the provider whose pages may use the bridge',
      process.env['ISSUER'] ?? 'http://localhost:3000',
    )
    .action(async (o: { module: string; slot: string; port: string; origin: string }) => {
      // Loaded here so that the rest of the CLI does not need the native module.
      const { Pkcs11Token } = await import('../bridge/token.js');
      const { startBridge } = await import('../bridge/bridge-server.js');
      const token = new Pkcs11Token(o.module, Number(o.slot));
      const bridge = await startBridge({ token, origin: o.origin, port: Number(o.port) });
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
