/**
 * `npm run helper:build [-- --all] [--origin <url>]... [--out <dir>]`: the 证书助手 as one
 * executable per platform (Node's single executable applications: the bundled helper and koffi's
 * native part injected into a copy of the node binary) and the installers made from them.
 * linux-x64 and its .deb always; with --all also linux-arm64 (+ .deb) and win-x64, whose node
 * binaries are fetched from npm at this Node's exact version. See docs/helper-it.md.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { inject } from 'postject';
import { buildDeb } from './deb.js';
import { nodeBinaryFor, TARGETS, type Target } from './targets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The fuse Node looks for to know a blob was injected (Node's single-executable documentation). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface Options {
  all: boolean;
  out: string;
  origins: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { all: false, out: path.join(ROOT, 'dist/helper'), origins: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--all') options.all = true;
    else if (arg === '--out') options.out = path.resolve(argv[++i] ?? '');
    else if (arg === '--origin') options.origins.push(originOf(argv[++i] ?? ''));
    else throw new Error(`unknown argument ${arg}; use --all, --out <dir>, --origin <url>`);
  }
  if (options.origins.length === 0) {
    // HELPER_ORIGINS (comma-separated) for CI; else the provider a developer runs locally.
    const fromEnv = process.env['HELPER_ORIGINS'] ?? process.env['ISSUER'] ?? 'http://localhost:3000';
    options.origins = fromEnv
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
      .map(originOf);
  }
  return options;
}

function originOf(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`${value} is not an http(s) origin`);
  return url.origin;
}

/**
 * One CommonJS file (a SEA's main script can not be an ES module), in which every `koffi` import
 * is the embedded loader: koffi's own loader looks for its native part in node_modules.
 */
async function bundle(workDir: string): Promise<string> {
  const outfile = path.join(workDir, 'helper.cjs');
  const result = await esbuild({
    entryPoints: [path.join(ROOT, 'src/helper/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    alias: { koffi: path.join(ROOT, 'src/bridge/embedded-koffi.ts') },
    logLevel: 'silent',
    legalComments: 'none',
  });
  for (const warning of result.warnings) console.warn(`esbuild: ${warning.text}`);
  return outfile;
}

async function buildExecutable(target: Target, script: string, options: Options, workDir: string) {
  const koffiNode = path.join(ROOT, 'node_modules/koffi/build/koffi', target.koffiTriplet, 'koffi.node');
  if (!existsSync(koffiNode)) throw new Error(`koffi has no native part for ${target.koffiTriplet}`);
  const blob = path.join(workDir, `${target.name}.blob`);
  const seaConfig = path.join(workDir, `${target.name}.sea.json`);
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      // Code cache and snapshot are tied to the platform that makes the blob; without them one
      // blob serves every target.
      useCodeCache: false,
      useSnapshot: false,
      assets: { 'koffi.node': koffiNode },
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'ignore' });

  const nodeBinary = nodeBinaryFor(target);
  const out = path.join(options.out, target.executable);
  const partial = `${out}.partial`;
  copyFileSync(nodeBinary, partial);
  chmodSync(partial, 0o755);
  await inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  rmSync(out, { force: true });
  copyFileSync(partial, out);
  chmodSync(out, 0o755);
  rmSync(partial);
  return out;
}

async function main() {
  const started = Date.now();
  const options = parseArgs(process.argv.slice(2));
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  mkdirSync(options.out, { recursive: true });
  const workDir = path.join(options.out, '.work');
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  try {
    const script = await bundle(workDir);
    const targets = options.all ? Object.values(TARGETS) : [TARGETS['linux-x64']];
    for (const target of targets) {
      const executable = await buildExecutable(target, script, options, workDir);
      console.log(`helper: ${path.relative(ROOT, executable)}`);
      if (target.debArch) {
        const deb = path.join(options.out, `unified-id-helper_${version}_${target.debArch}.deb`);
        buildDeb({
          executable,
          arch: target.debArch,
          version,
          origins: options.origins,
          outFile: deb,
          workDir,
        });
        console.log(`helper: ${path.relative(ROOT, deb)} (origins: ${options.origins.join(', ')})`);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  console.log(`helper: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
