import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** An installer of the 证书助手 as the /helper/ page lists it. */
export interface HelperFile {
  name: string;
  size: number;
  sha256: string;
  /** Which computers it is for, in words a clerk reads. */
  platform: string;
}

/**
 * Only the build's own outputs are offered (packaging/helper/build.ts names them so): a name is
 * matched whole, so nothing else put in the folder, no dotfile, no half-written `.partial` and no
 * path (`..`, `/`) is ever served.
 */
const OFFERED: { pattern: RegExp; platform: string }[] = [
  { pattern: /^unified-id-helper-setup-[\w.]+\.exe$/, platform: 'Windows 10/11（64 位）安装程序' },
  { pattern: /^unified-id-helper-win-x64\.exe$/, platform: 'Windows 10/11（64 位）单个程序，免安装' },
  { pattern: /^unified-id-helper_[\w.~+]+_amd64\.deb$/, platform: '统信UOS、麒麟（x86_64）安装包' },
  {
    pattern: /^unified-id-helper_[\w.~+]+_arm64\.deb$/,
    platform: '统信UOS、麒麟（ARM64，如鲲鹏、飞腾）安装包',
  },
  { pattern: /^unified-id-helper-linux-x64$/, platform: 'Linux（x86_64）单个程序，免安装' },
  { pattern: /^unified-id-helper-linux-arm64$/, platform: 'Linux（ARM64）单个程序，免安装' },
];

/**
 * The installers in HELPER_DIR with their SHA-256, read from the folder on each request (a new
 * build shows without a restart); a file's digest is computed once per size and modification time.
 */
export class HelperFiles {
  readonly #dir: string;
  readonly #digests = new Map<string, { key: string; sha256: Promise<string> }>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  async list(): Promise<HelperFile[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return [];
    }
    const files: HelperFile[] = [];
    for (const { pattern, platform } of OFFERED) {
      for (const name of names.filter((n) => pattern.test(n)).sort()) {
        // lstat: a symbolic link (to a file outside the folder, say) is not a file the build wrote.
        const info = await lstat(path.join(this.#dir, name)).catch(() => undefined);
        if (!info?.isFile()) continue;
        files.push({ name, size: info.size, sha256: await this.#sha256(name, info), platform });
      }
    }
    return files;
  }

  /** The file to send, or undefined for any name the page does not list. */
  async open(name: string): Promise<{ file: HelperFile; stream: ReadStream } | undefined> {
    if (!OFFERED.some((o) => o.pattern.test(name))) return undefined;
    const file = (await this.list()).find((f) => f.name === name);
    if (!file) return undefined;
    return { file, stream: createReadStream(path.join(this.#dir, name)) };
  }

  #sha256(name: string, info: { size: number; mtimeMs: number }): Promise<string> {
    const key = `${info.size}:${info.mtimeMs}`;
    const known = this.#digests.get(name);
    if (known?.key === key) return known.sha256;
    const sha256 = new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(path.join(this.#dir, name))
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolve(hash.digest('hex')))
        .on('error', reject);
    });
    // A failed read is not remembered: the next request tries again.
    sha256.catch(() => this.#digests.delete(name));
    this.#digests.set(name, { key, sha256 });
    return sha256;
  }
}
