import { execFileSync } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The software SKF token of test/fixtures/skf-token, compiled on first use so `npm test` needs
// nothing but gcc and OpenSSL 3's headers. The library is cached under the source's hash: an
// edited source builds anew, an unchanged one is built once per machine.

const SOURCE = fileURLToPath(new URL('../fixtures/skf-token/skf_soft.c', import.meta.url));

export function gccAvailable(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return existsSync('/usr/include/openssl/evp.h');
  } catch {
    return false;
  }
}

/** Path of the compiled libskf_soft.so (built now if the cache lacks it). */
export function softSkfLibrary(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(tmpdir(), 'unified-id-skf-soft');
  const library = path.join(dir, `libskf_soft-${hash}.so`);
  if (existsSync(library)) return library;
  mkdirSync(dir, { recursive: true });
  // Two test files may build at once: each writes its own file and renames it into place.
  const partial = `${library}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', '-shared', '-fPIC', '-o', partial, SOURCE, '-lcrypto'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  renameSync(partial, library);
  return library;
}

export interface SoftSkfContainer {
  /** Bytes for a name in another encoding than UTF-8 (GBK, as some vendors' tools write them). */
  name: string | Buffer;
  /** An SM2 key; absent for an empty container. */
  privateKey?: KeyObject;
  certificateDer?: Uint8Array;
}

export interface SoftSkfToken {
  dir: string;
  /** Tries left now, as the token's counter file says. */
  triesLeft(): number;
}

/**
 * A token directory as skf_soft.c reads it. The library finds it through SKF_SOFT_DIR, which is
 * set for this process (koffi calls the library in-process).
 */
export function prepareSoftSkf(options: {
  pin: string;
  maxTries?: number;
  containers: SoftSkfContainer[];
}): SoftSkfToken {
  const dir = mkdtempSync(path.join(tmpdir(), 'uid-skf-'));
  const maxTries = options.maxTries ?? 6;
  writeFileSync(path.join(dir, 'pin'), options.pin);
  writeFileSync(path.join(dir, 'max-tries'), `${maxTries}\n`);
  writeFileSync(path.join(dir, 'tries'), `${maxTries}\n`);
  for (const container of options.containers) {
    // Paths as bytes, so a GBK name reaches the file system (and the token) unchanged.
    const where = Buffer.concat([
      Buffer.from(path.join(dir, 'containers', '/')),
      Buffer.from(container.name),
    ]);
    const file = (name: string) => Buffer.concat([where, Buffer.from(`/${name}`)]);
    mkdirSync(where, { recursive: true });
    if (container.privateKey)
      writeFileSync(file('key.pem'), container.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    if (container.certificateDer) writeFileSync(file('cert.der'), container.certificateDer);
  }
  process.env['SKF_SOFT_DIR'] = dir;
  return {
    dir,
    triesLeft: () => Number.parseInt(readFileSync(path.join(dir, 'tries'), 'utf8'), 10),
  };
}
