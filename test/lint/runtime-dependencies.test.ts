import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The image runs dist/ after `npm prune --omit=dev` (Dockerfile): a package that the built code
// loads must be in package.json's `dependencies`, or the provider dies at start with
// "Cannot find package". dist/ is built from src/ less the files tsconfig.build.json leaves out.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
};
const NOT_BUILT = [/\.test\.ts$/, /(^|\/)test-support\.ts$/, /(^|\/)test-vectors\.ts$/];
const BUILTINS = new Set(builtinModules);

/** The package a bare specifier names: `@scope/name` or `name`, without any subpath. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#')) return undefined;
  if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * What a module loads at run time, by specifier: static imports and re-exports (but not
 * `import type` / `export type`, which the compiler erases; `import { type A }` is kept by
 * verbatimModuleSyntax as `import {}`, so it loads the module and counts), bare `import 'x'`,
 * `import('x')`, and `require('x')` / `.resolve('x')` through createRequire.
 */
function runtimeSpecifiers(source: string): string[] {
  // Comments out first, so an example in a doc comment is not taken for an import.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const statement = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^;'"`]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(statement)) if (!m[2]) found.push(m[4]!);
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of code.matchAll(/(?:\bimport|\brequire|\.resolve)\s*\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push(m[1]!);
  return found;
}

function builtSources(dir = path.join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return builtSources(file);
    if (!/\.ts$/.test(entry.name) || entry.name.endsWith('.d.ts')) return [];
    return NOT_BUILT.some((p) => p.test(path.relative(ROOT, file))) ? [] : [file];
  });
}

describe('what the built provider imports', () => {
  it('reads specifiers as the runtime does: scoped packages, subpaths, builtins, type-only imports', () => {
    const source = [
      "import type { Context } from 'koa';",
      "import { type JWK } from 'jose';",
      "import {\n  Router,\n  type Middleware,\n} from '@koa/router';",
      "import fs from 'node:fs';",
      "import path from 'path';",
      "import { readFile } from 'fs/promises';",
      "export { z } from 'zod';",
      "export type { Logger } from 'pino';",
      "import 'sm-crypto-v2/side-effect';",
      "const client = await import('openid-client');",
      "const echarts = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');",
      "const koffi = require('koffi');",
      "// import nothing from 'a-comment'",
      "/* import { x } from 'another-comment'; */",
      "import { helper } from './helper.js';",
    ].join('\n');
    const packages = runtimeSpecifiers(source).map(packageOf).filter(Boolean);
    expect(packages.sort()).toEqual(
      ['@koa/router', 'echarts', 'jose', 'koffi', 'openid-client', 'sm-crypto-v2', 'zod'].sort(),
    );
  });

  it('loads only packages that `npm prune --omit=dev` keeps', () => {
    const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
    const missing: string[] = [];
    for (const file of builtSources()) {
      for (const specifier of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier);
        if (name && !runtime.has(name)) missing.push(`${path.relative(ROOT, file)} imports ${specifier}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
