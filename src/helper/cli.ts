import { parseArgs } from 'node:util';
import {
  CONFIG_NAME,
  configPlaces,
  DEFAULT_PORT,
  HelperConfigError,
  type HelperFile,
  readHelperFile,
} from './config.js';
import { type DiscoveryOptions, discoverLibraries, examineLibrary } from './discover.js';
import { readRegisteredSkf } from './windows-registry.js';

export const USAGE = `unified-id-helper: the 证书助手 between the provider's login page and a USB key

  unified-id-helper                 serve on 127.0.0.1 the providers of the configuration file
  unified-id-helper --list [--json] print every USB-key library found, and why
  unified-id-helper --self-test     load the FFI layer, list the tokens, exit 0 (non-zero on failure)

  --origin <url>    a provider whose pages may use the helper (repeatable; replaces the file's)
  --port <n>        port on 127.0.0.1 (default ${DEFAULT_PORT})
  --module <path>   use this PKCS#11 or SKF library instead of looking (repeatable)
  --config <file>   read this configuration file instead of the usual places
  --help            this text

The configuration file ${CONFIG_NAME}, looked for next to the executable and then in
/etc (Linux) or %ProgramData%\\UnifiedID (Windows), is JSON:
  { "origins": ["https://id.example.gov.cn"], "port": ${DEFAULT_PORT} }
`;

/** What the CLI touches outside itself, so that a test can give it a tree and a config of its own. */
export interface HelperEnvironment {
  out(text: string): void;
  err(text: string): void;
  discovery?: DiscoveryOptions;
  configPlaces?: string[];
}

const consoleEnvironment: HelperEnvironment = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

class UsageError extends Error {
  override name = 'UsageError';
}

function originOf(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--origin ${value}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--origin ${value}: not an http(s) origin`);
  return url.origin;
}

function portOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port ${value}: not a port`);
  return n;
}

/** The libraries to use: those IT named, else those found on the machine. */
function finder(
  modules: readonly string[],
  named: string,
  env: HelperEnvironment,
  lookUp?: DiscoveryOptions['hasSymbolWhenLoaded'],
) {
  if (modules.length)
    return () =>
      modules.flatMap(
        (m) =>
          examineLibrary(m, named, { named: true, ...(lookUp ? { hasSymbolWhenLoaded: lookUp } : {}) }) ?? [],
      );
  return () =>
    discoverLibraries({
      registeredSkf: readRegisteredSkf,
      ...(lookUp ? { hasSymbolWhenLoaded: lookUp } : {}),
      ...env.discovery,
    });
}

/**
 * The helper's command line. Resolves to an exit code, or to undefined while it serves (the
 * process then lives until a signal). Everything that loads koffi is imported on demand, so that
 * a build that does not fit the machine says so in one sentence rather than with a stack trace.
 */
export async function runHelper(
  argv: string[],
  env: HelperEnvironment = consoleEnvironment,
): Promise<number | undefined> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    env.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    env.out(USAGE);
    return 0;
  }
  try {
    if (values.list) return await list(values, env);
    if (values['self-test']) return await selfTest(values, env);
    return await serve(values, env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof HelperConfigError) {
      env.err(`unified-id-helper: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      list: { type: 'boolean' },
      json: { type: 'boolean' },
      'self-test': { type: 'boolean' },
      module: { type: 'string', multiple: true },
      origin: { type: 'string', multiple: true },
      port: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

function configFile(
  values: Values,
  env: HelperEnvironment,
): { file: string; config: HelperFile } | undefined {
  if (values.config) {
    const found = readHelperFile([values.config]);
    if (!found) throw new HelperConfigError(`${values.config}: no such file`);
    return found;
  }
  return readHelperFile(env.configPlaces ?? configPlaces());
}

async function loadFfi(env: HelperEnvironment): Promise<typeof import('./symbol-lookup.js') | undefined> {
  try {
    await import('../bridge/ffi.js');
    return await import('./symbol-lookup.js');
  } catch (err) {
    env.err(
      `unified-id-helper: the FFI layer (koffi) could not be loaded on ${process.platform}-${process.arch}: ${(err as Error).message}\n` +
        'This build of the helper does not fit this computer: download the one for its system.\n',
    );
    return undefined;
  }
}

async function list(values: Values, env: HelperEnvironment): Promise<number> {
  const ffi = await loadFfi(env);
  if (!ffi) return 1;
  const { formatList, withTokens } = await import('./list.js');
  const found = finder(values.module ?? [], 'named with --module', env, ffi.hasSymbolWhenLoaded)();
  const listed = withTokens(found);
  env.out(values.json ? `${JSON.stringify(listed, null, 2)}\n` : formatList(listed));
  return 0;
}

async function selfTest(values: Values, env: HelperEnvironment): Promise<number> {
  const ffi = await loadFfi(env);
  if (!ffi) return 1;
  env.out(`FFI layer: koffi loaded (${process.platform}-${process.arch}, Node ${process.versions.node})\n`);
  let config: { file: string; config: HelperFile } | undefined;
  try {
    config = configFile(values, env);
  } catch (err) {
    env.err(`unified-id-helper: ${(err as Error).message}\n`);
    return 1;
  }
  env.out(
    config
      ? `configuration: ${config.file} (${config.config.origins.join(', ')})\n`
      : `configuration: none found (looked in ${(env.configPlaces ?? configPlaces()).join(', ')})\n`,
  );
  const { withTokens } = await import('./list.js');
  const modules = values.module ?? config?.config.modules ?? [];
  const listed = withTokens(finder(modules, 'named by IT', env, ffi.hasSymbolWhenLoaded)());
  const usable = listed.filter((l) => l.tokens);
  for (const l of usable)
    env.out(
      `${l.path}: ${l.tokens?.length ? l.tokens.map((t) => `"${t}"`).join(', ') : 'no token present'}\n`,
    );
  for (const l of listed.filter((x) => x.openError))
    env.out(`${l.path}: could not be opened: ${l.openError}\n`);
  const tokens = usable.reduce((n, l) => n + (l.tokens?.length ?? 0), 0);
  env.out(`${usable.length} usable librar${usable.length === 1 ? 'y' : 'ies'}, ${tokens} token(s) present\n`);
  return 0;
}

async function serve(values: Values, env: HelperEnvironment): Promise<number | undefined> {
  const config = configFile(values, env);
  const origins = values.origin?.length ? values.origin.map(originOf) : (config?.config.origins ?? []);
  if (!origins.length)
    throw new UsageError(
      `no provider to serve: pass --origin <url>, or write ${CONFIG_NAME} (looked in ${(env.configPlaces ?? configPlaces()).join(', ')})`,
    );
  const port = values.port !== undefined ? portOf(values.port) : (config?.config.port ?? DEFAULT_PORT);
  const ffi = await loadFfi(env);
  if (!ffi) return 1;
  const modules = values.module ?? config?.config.modules ?? [];
  const named = values.module ? 'named with --module' : `named in ${config?.file}`;
  const { serveUntilSignal, tokensOf } = await import('./serve.js');
  const { token, sources } = tokensOf(finder(modules, named, env, ffi.hasSymbolWhenLoaded));
  await serveUntilSignal({
    token,
    origins,
    port,
    log: (line) => env.out(`${line}\n`),
    describe: () => {
      const used = sources.current().map((s) => s.path);
      const failed = [...sources.failures()].map(([path, why]) => `${path} failed: ${why}`);
      return [used.length ? `libraries: ${used.join(', ')}` : 'no USB-key library found yet', ...failed].join(
        '; ',
      );
    },
  });
  return undefined;
}
