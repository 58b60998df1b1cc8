import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const execFileAsync = promisify(execFile);

/** The provider origin written into the test build's .deb config file. */
export const BUILT_ORIGIN = 'https://id.example.gov.cn';

export interface BuiltHelper {
  dir: string;
  executable: string;
  deb: string;
  version: string;
}

/**
 * The packaged 证书助手 as `npm run helper:build` makes it, built once per content of what goes
 * into it (src/ without tests, packaging/, the lock file, this Node) and kept in the temporary
 * folder: test files that need it share one build, and a second run of the suite builds nothing.
 * A build takes about half a minute of one core.
 */
export async function builtHelper(): Promise<BuiltHelper> {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  const base = path.join(tmpdir(), 'unified-id-helper-builds');
  const dir = path.join(base, sourceHash());
  const built = {
    dir,
    executable: path.join(dir, 'unified-id-helper-linux-x64'),
    deb: path.join(dir, `unified-id-helper_${version}_amd64.deb`),
    version,
  };
  if (existsSync(dir)) return built;
  mkdirSync(base, { recursive: true });
  const lock = `${dir}.lock`;
  // One build at a time for one source: a second test file waits for the first's result.
  while (!tryLock(lock)) {
    await new Promise<void>((resolve) => setTimeout(resolve, 500));
    if (existsSync(dir)) return built;
  }
  try {
    if (existsSync(dir)) return built;
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    await execFileAsync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
        path.join(ROOT, 'packaging/helper/build.ts'),
        '--out',
        partial,
        '--origin',
        BUILT_ORIGIN,
      ],
      { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
    renameSync(partial, dir);
    return built;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** A lock file; one left by a build that died (older than ten minutes) is taken over. */
function tryLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { force: true });
    } catch {}
    return false;
  }
}

function sourceHash(): string {
  const hash = createHash('sha256').update(process.version).update(process.arch);
  const add = (file: string) => hash.update(path.relative(ROOT, file)).update(readFileSync(file));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (!entry.name.endsWith('.test.ts')) add(file);
    }
  };
  walk(path.join(ROOT, 'src'));
  walk(path.join(ROOT, 'packaging'));
  add(path.join(ROOT, 'package.json'));
  add(path.join(ROOT, 'package-lock.json'));
  return hash.digest('hex').slice(0, 24);
}
