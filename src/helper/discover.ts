import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { type LibraryExports, readExports } from './exports.js';
import {
  LINUX_PLACES,
  LINUX_VENDOR_PLACES,
  MODULE_TABLE,
  type ModuleEntry,
  matchesName,
} from './module-table.js';
import type { RegisteredSkf } from './windows-registry.js';

export type LibraryKind = 'pkcs11' | 'skf';

/** One library file the helper found, what it is, and why it was looked at. */
export interface FoundLibrary {
  /** The path it was first found under (a symlink's own name, e.g. libes_3000gm.so). */
  path: string;
  /** Other paths that lead to the same file. */
  also: string[];
  /** PKCS#11 (exports C_GetFunctionList), SKF (exports SKF_EnumDev), both, or neither. */
  kinds: LibraryKind[];
  vendor?: string;
  product?: string;
  /** Where and how it was found, one reason per finding. */
  why: string[];
  format?: LibraryExports['format'];
  arch?: string;
  /** Why the helper can not use it, when it can not. */
  problem?: string;
}

export interface DiscoveryOptions {
  platform?: NodeJS.Platform;
  /** The CPU this helper runs on; a library built for another can not be loaded. */
  arch?: string;
  /** Prepended to every Linux place, so that a test can search a tree of its own. */
  root?: string;
  /** Supplies %SystemRoot%, %ProgramFiles% and %ProgramFiles(x86)% on Windows. */
  env?: NodeJS.ProcessEnv;
  /** The SKF libraries Windows registers (HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\SKF). */
  registeredSkf?: () => RegisteredSkf[];
  /**
   * Whether a library exports a symbol, by loading it: used only for a file the table or the
   * registry names and whose export table can not be read from the file.
   */
  hasSymbolWhenLoaded?: (file: string, symbol: string) => boolean;
}

/** Windows' stdcall names may be decorated: _SKF_EnumDev@12. */
const undecorate = (name: string) => name.replace(/^_/, '').replace(/@\d+$/, '');

function kindsOf(names: Set<string>): LibraryKind[] {
  const plain = new Set([...names].map(undecorate));
  const kinds: LibraryKind[] = [];
  if (plain.has('C_GetFunctionList')) kinds.push('pkcs11');
  if (plain.has('SKF_EnumDev')) kinds.push('skf');
  return kinds;
}

const looksLikeLibrary = (name: string, platform: NodeJS.Platform) =>
  platform === 'win32' ? /\.dll$/i.test(name) : /\.so(\.[0-9.]+)?$/.test(name);

/** The folders a place pattern names: each `*` segment matches the folders present. */
function expandPlace(place: string, root: string): string[] {
  const segments = place.split('/').filter(Boolean);
  let dirs = [root || '/'];
  for (const segment of segments) {
    const next: string[] = [];
    for (const dir of dirs) {
      if (!segment.includes('*')) {
        next.push(path.join(dir, segment));
        continue;
      }
      for (const entry of listDir(dir)) if (matchesName(segment, entry)) next.push(path.join(dir, entry));
    }
    dirs = next;
  }
  return dirs.filter(isDirectory);
}

function listDir(dir: string): string[] {
  try {
    // Sorted so that a symlink chain is met by its shortest name first (libx.so before libx.so.1.0.0).
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * What one file is, as the helper sees it: its format, CPU and interfaces, and why it can not
 * be used when it can not. `named` is true when the table, the registry or IT names the file;
 * an unnamed file that exports neither interface yields undefined (it is not ours to report).
 */
export function examineLibrary(
  file: string,
  why: string,
  options: { row?: ModuleEntry; named: boolean; arch?: string } & Pick<
    DiscoveryOptions,
    'hasSymbolWhenLoaded'
  >,
): FoundLibrary | undefined {
  const arch = options.arch ?? process.arch;
  const exports = readExports(file);
  if (!exports && !options.named) return undefined;
  const found: FoundLibrary = { path: file, also: [], kinds: [], why: [why] };
  if (options.row) Object.assign(found, { vendor: options.row.vendor, product: options.row.product });
  if (!exports) {
    found.problem = isFile(file) ? 'not a shared library this helper can read' : 'no such file';
    return found;
  }
  found.format = exports.format;
  found.arch = exports.arch;
  if (exports.names) found.kinds = kindsOf(exports.names);
  else if (options.named && exports.arch === arch && options.hasSymbolWhenLoaded) {
    const lookUp = options.hasSymbolWhenLoaded;
    found.kinds = kindsOf(new Set(['C_GetFunctionList', 'SKF_EnumDev'].filter((s) => lookUp(file, s))));
    found.why.push('export table unreadable from the file: looked the symbols up by loading it');
  }
  if (exports.arch !== arch)
    found.problem = `built for ${exports.arch}; this helper runs on ${arch} and can not load it`;
  else if (!found.kinds.length)
    found.problem = exports.names
      ? 'exports neither C_GetFunctionList (PKCS#11) nor SKF_EnumDev (SKF)'
      : 'its export table can not be read';
  if (!options.named && !found.kinds.length) return undefined;
  return found;
}

/**
 * Looks for USB-key libraries where the table, the Windows registry and the vendors' install
 * folders say they are, and says of each what it exports. Nothing is loaded unless
 * `hasSymbolWhenLoaded` is given and a named file's export table can not be read.
 */
export function discoverLibraries(options: DiscoveryOptions = {}): FoundLibrary[] {
  const platform = options.platform ?? process.platform;
  const byRealPath = new Map<string, FoundLibrary>();
  const ordered: FoundLibrary[] = [];

  function consider(file: string, why: string, row: ModuleEntry | undefined, named: boolean) {
    if (!isFile(file)) return;
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      return;
    }
    const seen = byRealPath.get(real);
    if (seen) {
      if (file !== seen.path && !seen.also.includes(file)) seen.also.push(file);
      if (!seen.why.includes(why)) seen.why.push(why);
      if (row && !seen.vendor) Object.assign(seen, { vendor: row.vendor, product: row.product });
      return;
    }
    const found = examineLibrary(file, why, {
      named,
      ...(row ? { row } : {}),
      ...(options.arch ? { arch: options.arch } : {}),
      ...(options.hasSymbolWhenLoaded ? { hasSymbolWhenLoaded: options.hasSymbolWhenLoaded } : {}),
    });
    if (!found) return;
    byRealPath.set(real, found);
    ordered.push(found);
  }

  if (platform === 'win32') searchWindows(options, consider);
  else searchLinux(options.root ?? '', platform, consider);
  return ordered;
}

type Consider = (file: string, why: string, row: ModuleEntry | undefined, named: boolean) => void;

function searchLinux(root: string, platform: NodeJS.Platform, consider: Consider) {
  const rows = MODULE_TABLE.filter((row) => row.linux?.length);
  // A vendor's own folders first, so that its library is reported under the path it documents.
  const places: { place: string; rows: readonly ModuleEntry[] }[] = [
    ...rows.flatMap((row) => (row.linuxPlaces ?? []).map((place) => ({ place, rows: [row] }))),
    ...LINUX_PLACES.map((place) => ({ place, rows })),
  ];
  for (const { place, rows: candidates } of places) {
    for (const dir of expandPlace(place, root)) {
      for (const name of listDir(dir)) {
        const row = candidates.find((r) => r.linux?.some((p) => matchesName(p, name)));
        if (row)
          consider(
            path.join(dir, name),
            `named in the table (${row.vendor} ${row.product}), found in ${dir}`,
            row,
            true,
          );
      }
    }
  }
  for (const place of LINUX_VENDOR_PLACES) {
    for (const dir of expandPlace(place, root)) {
      for (const name of listDir(dir)) {
        if (!looksLikeLibrary(name, platform)) continue;
        consider(
          path.join(dir, name),
          `in a vendor folder (${dir}), exports a USB-key interface`,
          undefined,
          false,
        );
      }
    }
  }
}

function searchWindows(options: DiscoveryOptions, consider: Consider) {
  const env = options.env ?? process.env;
  const win = path.win32;
  const systemRoot = env['SystemRoot'] ?? env['windir'] ?? 'C:\\Windows';
  const programFiles = [env['ProgramFiles'], env['ProgramFiles(x86)']].filter((p): p is string => !!p);

  for (const entry of options.registeredSkf?.() ?? []) {
    const file = win.isAbsolute(entry.path) ? entry.path : win.join(systemRoot, 'System32', entry.path);
    const row = MODULE_TABLE.find((r) => r.windows?.some((p) => matchesName(p, win.basename(file))));
    consider(file, `registered as SKF library "${entry.name}" under ${entry.key}`, row, true);
  }
  const systemDirs = [win.join(systemRoot, 'System32'), win.join(systemRoot, 'SysWOW64')];
  // System32 holds thousands of files: each folder is listed once for all rows.
  const listings = new Map<string, string[]>();
  const listOnce = (dir: string) => {
    const known = listings.get(dir);
    if (known) return known;
    const names = listDir(dir);
    listings.set(dir, names);
    return names;
  };
  for (const row of MODULE_TABLE) {
    const dirs = [
      ...systemDirs,
      ...(row.windowsPlaces ?? []).flatMap((place) => programFiles.map((pf) => win.join(pf, place))),
    ];
    for (const dir of dirs) {
      for (const name of listOnce(dir)) {
        if (row.windows?.some((p) => matchesName(p, name)))
          consider(
            win.join(dir, name),
            `named in the table (${row.vendor} ${row.product}), found in ${dir}`,
            row,
            true,
          );
      }
    }
  }
}
