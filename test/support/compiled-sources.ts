import { copyFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'vitest';
import { hasEmbeddedTemplate } from './embedded-template.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What the processes the tests start import: the sources, and the audit writer with what it imports. */
const COMPILED = ['src', 'test/support/audit-writer.ts'];

/** Where the run's compiled sources are: one name for compileSources and nodeArgsFor. */
const compiledDir = (runDir: string) => path.join(runDir, 'js');

/**
 * The sources as JavaScript, file by file as `npm run build` lays out dist/ (esbuild rather than
 * tsc: half a second for all of them), in the run's folder, for the processes the tests start
 * (`serve`, `dev-alipay`, the audit writer): node loads these alone, where through tsx every
 * module passes its loader thread (a `serve` took 5.8 CPU s to listen, 4.1 from these). The
 * folder mirrors the checkout: views/, migrations/ and node_modules/ are links to its own, so
 * every path a module finds from where it lies is the checkout's. Two processes still start
 * through bin/unified-id.js and tsx, as `npm start` does: `serve` in test/e2e/graceful-stop.test.ts
 * and a failing command in test/e2e/cli.test.ts.
 */
export async function compileSources(runDir: string): Promise<void> {
  const out = compiledDir(runDir);
  const entryPoints = COMPILED.flatMap((entry) => typescriptFiles(path.join(ROOT, entry)));
  await build({
    entryPoints,
    outdir: out,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const linked of ['node_modules', 'views', 'migrations'])
    symlinkSync(path.join(ROOT, linked), path.join(out, linked));
  copyFileSync(
    path.join(ROOT, 'src/accounts/common-passwords.txt'),
    path.join(out, 'src/accounts/common-passwords.txt'),
  );
  // Outside the checkout, so without its package.json: the same "type": "module".
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
}

function typescriptFiles(file: string): string[] {
  if (file.endsWith('.ts')) return [file];
  return readdirSync(file, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(file, entry.name);
    if (entry.isDirectory()) return typescriptFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')
      ? [full]
      : [];
  });
}

/**
 * Node's arguments to run a source file (`src/cli/main.ts`, relative to the checkout) in a
 * process of its own: under vitest its compiled module in the run's folder; outside vitest (a
 * benchmark script) there is no run folder, and the source runs through tsx.
 */
export function nodeArgsFor(source: string): string[] {
  if (!hasEmbeddedTemplate()) return ['--import', 'tsx', path.join(ROOT, source)];
  return [path.join(compiledDir(inject('runDir')), source.replace(/\.ts$/, '.js'))];
}
