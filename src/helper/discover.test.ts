import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gccAvailable, prepareSoftSkf, softSkfLibrary } from '../../test/support/skf-soft.js';
import { prepareSoftHsm, SOFTHSM_MODULE, softHsmAvailable } from '../bridge/softhsm.js';
import { runHelper } from './cli.js';
import { discoverLibraries } from './discover.js';
import { readExports } from './exports.js';
import type { ListedLibrary } from './list.js';
import { hasSymbolWhenLoaded } from './symbol-lookup.js';
import { parseRegQuery } from './windows-registry.js';

/** A tiny shared library exporting what `source` defines, built with the machine's gcc. */
function build(dir: string, name: string, source: string, ...flags: string[]): string {
  const c = path.join(dir, `${name}.c`);
  const so = path.join(dir, `${name}.so`);
  writeFileSync(c, source);
  execFileSync('gcc', ['-shared', '-fPIC', ...flags, '-o', so, c]);
  return so;
}

/** The file without its section headers, as sstrip leaves it: the dynamic linker needs none. */
function withoutSectionHeaders(file: string): Buffer {
  const bytes = readFileSync(file);
  bytes.fill(0, 0x28, 0x30); // e_shoff
  bytes.fill(0, 0x3c, 0x40); // e_shentsize… e_shstrndx
  return bytes;
}

function place(root: string, file: string, from: string) {
  const to = path.join(root, file);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
  return to;
}

async function list(root: string, ...flags: string[]) {
  let out = '';
  let err = '';
  const code = await runHelper(['--list', ...flags], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    discovery: { root, platform: 'linux' },
  });
  return { code, out, err };
}

describe.skipIf(!gccAvailable())('finding USB-key libraries on a fake file tree', () => {
  let root: string;

  beforeAll(() => {
    const work = mkdtempSync(path.join(tmpdir(), 'uid-discover-build-'));
    const pkcs11 = build(
      work,
      'p11',
      'int C_GetFunctionList(void **list) { if (list) *list = 0; return 5; }\n',
    );
    const skf = build(
      work,
      'skf',
      'unsigned int SKF_EnumDev(int present, char *names, unsigned int *size) { return 0x0A000001; }\n',
    );
    const neither = build(work, 'neither', 'int helper_version(void) { return 1; }\n');
    root = mkdtempSync(path.join(tmpdir(), 'uid-discover-root-'));

    // Feitian's library under 统信UOS's application layout, reached through its symlink chain.
    const feitian = 'opt/apps/cn.feitian.ukey/files/lib';
    place(root, `${feitian}/libes_3000gm.so.1.0.0`, pkcs11);
    symlinkSync('libes_3000gm.so.1.0.0', path.join(root, feitian, 'libes_3000gm.so.1'));
    symlinkSync('libes_3000gm.so.1', path.join(root, feitian, 'libes_3000gm.so'));
    // Longmai's SKF library in the multiarch folder.
    place(root, 'usr/lib/x86_64-linux-gnu/libgm3000.1.0.so', skf);
    // A file named like a table row that is neither kind.
    place(root, 'usr/lib/libgm3000_tools.so', neither);
    // A name from the table that is not a library at all.
    mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/opensc-pkcs11.so'), 'not an ELF file\n');
    // In a vendor's folder, unknown to the table: kept only for what it exports.
    place(root, 'opt/zhongke/lib/libzk_p11.so', pkcs11);
    place(root, 'opt/zhongke/lib/libzk_ui.so', neither);
    // A PKCS#11 library among the system's, that no row names: not looked at.
    place(root, 'usr/lib/libsomething_p11.so', pkcs11);
    // Without section headers: read through the dynamic segment, with a GNU hash table (gcc's
    // default) and with the older System V one.
    writeFileSync(place(root, 'usr/lib/libgm3000.stripped.so', skf), withoutSectionHeaders(skf));
    const sysv = build(
      work,
      'p11sysv',
      'int C_GetFunctionList(void **l) { return 5; }\n',
      '-Wl,--hash-style=sysv',
    );
    writeFileSync(place(root, 'opt/zhongke/lib/libzk_stripped.so', sysv), withoutSectionHeaders(sysv));
  });

  it('reads the export tables without loading the files', () => {
    const loaded: string[] = [];
    const found = discoverLibraries({
      root,
      platform: 'linux',
      hasSymbolWhenLoaded: (file, symbol) => {
        loaded.push(path.relative(root, file));
        return hasSymbolWhenLoaded(file, symbol);
      },
    });
    expect(loaded).toEqual([]);
    const at = (file: string) => found.find((f) => f.path === path.join(root, file));

    const feitian = at('opt/apps/cn.feitian.ukey/files/lib/libes_3000gm.so');
    expect(feitian).toMatchObject({
      kinds: ['pkcs11'],
      vendor: '飞天诚信 Feitian',
      format: 'ELF',
      arch: process.arch,
    });
    expect(feitian?.problem).toBeUndefined();
    // The symlink chain is one library, reported under its shortest name.
    expect(feitian?.also.map((p) => path.basename(p)).sort()).toEqual([
      'libes_3000gm.so.1',
      'libes_3000gm.so.1.0.0',
    ]);
    expect(found.filter((f) => f.path.includes('libes_3000gm'))).toHaveLength(1);

    expect(at('usr/lib/x86_64-linux-gnu/libgm3000.1.0.so')).toMatchObject({
      kinds: ['skf'],
      vendor: '龙脉科技 Longmai',
    });
    expect(at('usr/lib/libgm3000_tools.so')).toMatchObject({
      kinds: [],
      problem: 'exports neither C_GetFunctionList (PKCS#11) nor SKF_EnumDev (SKF)',
    });
    expect(at('usr/lib/opensc-pkcs11.so')?.problem).toBe('not a shared library this helper can read');
    expect(at('opt/zhongke/lib/libzk_p11.so')?.kinds).toEqual(['pkcs11']);
    expect(at('opt/zhongke/lib/libzk_p11.so')?.vendor).toBeUndefined();
    expect(at('opt/zhongke/lib/libzk_ui.so')).toBeUndefined();
    expect(at('usr/lib/libsomething_p11.so')).toBeUndefined();
    expect(at('usr/lib/libgm3000.stripped.so')).toMatchObject({ kinds: ['skf'], vendor: '龙脉科技 Longmai' });
    expect(at('usr/lib/libgm3000.stripped.so')?.problem).toBeUndefined();
    expect(at('opt/zhongke/lib/libzk_stripped.so')?.kinds).toEqual(['pkcs11']);
    expect(found).toHaveLength(7);
  });

  it('--list prints each library, where it was found and why, and why one can not be used', async () => {
    const { code, out } = await list(root);
    expect(code).toBe(0);
    const block = (file: string) => {
      const start = out.indexOf(`${path.join(root, file)}\n`);
      expect(start, `${file} listed`).toBeGreaterThanOrEqual(0);
      const end = out.indexOf('\n\n', start);
      return out.slice(start, end === -1 ? undefined : end);
    };
    const feitian = block('opt/apps/cn.feitian.ukey/files/lib/libes_3000gm.so');
    expect(feitian).toContain('interface: PKCS#11');
    expect(feitian).toContain('table:     飞天诚信 Feitian, ePass3000GM');
    expect(feitian).toContain(`found in ${path.join(root, 'opt/apps/cn.feitian.ukey/files/lib')}`);
    // It was opened: C_GetFunctionList answered CKR_GENERAL_ERROR, and --list says so.
    expect(feitian).toMatch(/not used: {2}could not be opened: C_GetFunctionList failed: CKR_GENERAL_ERROR/);
    expect(block('usr/lib/x86_64-linux-gnu/libgm3000.1.0.so')).toContain('interface: SKF');
    expect(block('usr/lib/libgm3000_tools.so')).toContain(
      'not used:  exports neither C_GetFunctionList (PKCS#11) nor SKF_EnumDev (SKF)',
    );
    expect(block('opt/zhongke/lib/libzk_p11.so')).toContain(
      `found:     in a vendor folder (${path.join(root, 'opt/zhongke/lib')}), exports a USB-key interface`,
    );
    expect(out).not.toContain('libzk_ui.so');
  });

  it.skipIf(!softHsmAvailable())(
    '--list names the tokens present in the libraries it could open',
    async () => {
      prepareSoftHsm(mkdtempSync(path.join(tmpdir(), 'uid-discover-hsm-')), {
        label: 'uid-discovery',
        pin: '123456',
        soPin: '12345678',
      });
      prepareSoftSkf({ pin: '12345678', containers: [] });
      const tree = mkdtempSync(path.join(tmpdir(), 'uid-discover-tokens-'));
      mkdirSync(path.join(tree, 'usr/lib/softhsm'), { recursive: true });
      symlinkSync(SOFTHSM_MODULE, path.join(tree, 'usr/lib/softhsm/libsofthsm2.so'));
      place(tree, 'opt/apps/cn.test.skf/files/lib/libskf_soft.so', softSkfLibrary());

      const { code, out } = await list(tree, '--json');
      expect(code).toBe(0);
      const listed = JSON.parse(out) as ListedLibrary[];
      expect(listed.find((l) => l.path.endsWith('softhsm/libsofthsm2.so'))).toMatchObject({
        kinds: ['pkcs11'],
        vendor: 'SoftHSM',
        tokens: [expect.stringMatching(/^uid-discovery — SoftHSM/)],
      });
      expect(listed.find((l) => l.path.endsWith('libskf_soft.so'))).toMatchObject({
        kinds: ['skf'],
        tokens: [expect.stringContaining('SKF Soft Token')],
      });

      let printed = '';
      const selfTest = await runHelper(['--self-test'], {
        out: (t) => {
          printed += t;
        },
        err: () => {},
        discovery: { root: tree, platform: 'linux' },
        configPlaces: [path.join(tree, 'etc/unified-id-helper.json')],
      });
      expect(selfTest).toBe(0);
      expect(printed).toMatch(/^FFI layer: koffi loaded/);
      expect(printed).toMatch(/libsofthsm2\.so: "uid-discovery — SoftHSM/);
      expect(printed).toContain('2 usable libraries, 2 token(s) present');
    },
  );
});

/** A minimal PE32+ (x64) or PE32 (x86) DLL whose export directory names `names`. */
function peWithExports(names: string[], machine: 'x64' | 'ia32'): Buffer {
  const is64 = machine === 'x64';
  const optionalSize = is64 ? 240 : 224;
  const b = Buffer.alloc(0x400);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x40, 0x3c);
  b.write('PE\0\0', 0x40, 'latin1');
  const coff = 0x44;
  b.writeUInt16LE(is64 ? 0x8664 : 0x14c, coff);
  b.writeUInt16LE(1, coff + 2);
  b.writeUInt16LE(optionalSize, coff + 16);
  const opt = coff + 20;
  b.writeUInt16LE(is64 ? 0x20b : 0x10b, opt);
  b.writeUInt32LE(16, opt + (is64 ? 108 : 92));
  const dirs = opt + (is64 ? 112 : 96);
  b.writeUInt32LE(0x1000, dirs);
  b.writeUInt32LE(0x100, dirs + 4);
  const section = opt + optionalSize;
  b.write('.edata', section, 'latin1');
  b.writeUInt32LE(0x200, section + 8);
  b.writeUInt32LE(0x1000, section + 12);
  b.writeUInt32LE(0x200, section + 16);
  b.writeUInt32LE(0x200, section + 20);
  // Export directory at RVA 0x1000 (file 0x200): the name pointers at +40, the strings after them.
  const dir = 0x200;
  b.writeUInt32LE(names.length, dir + 24);
  b.writeUInt32LE(0x1000 + 40, dir + 32);
  let text = 40 + names.length * 4;
  names.forEach((name, i) => {
    b.writeUInt32LE(0x1000 + text, dir + 40 + i * 4);
    b.write(`${name}\0`, dir + text, 'latin1');
    text += name.length + 1;
  });
  return b;
}

describe('Windows libraries and registrations', () => {
  it('reads a DLL export table and its CPU, decorated stdcall names included', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'uid-pe-'));
    const p11 = path.join(dir, 'ShuttleCsp11_3000GM.dll');
    writeFileSync(p11, peWithExports(['C_GetFunctionList', 'C_Initialize'], 'x64'));
    expect(readExports(p11)).toEqual({
      format: 'PE',
      arch: 'x64',
      names: new Set(['C_GetFunctionList', 'C_Initialize']),
    });
    const skf32 = path.join(dir, 'SKFAPI20538.dll');
    writeFileSync(skf32, peWithExports(['_SKF_EnumDev@12'], 'ia32'));
    expect(readExports(skf32)).toMatchObject({ format: 'PE', arch: 'ia32' });
    // A truncated file is not a library, and reading it does not throw.
    writeFileSync(path.join(dir, 'broken.dll'), peWithExports(['x'], 'x64').subarray(0, 0x100));
    expect(readExports(path.join(dir, 'broken.dll'))).toBeUndefined();
  });

  it('takes every .dll a registry SKF entry names, whatever the value is called', () => {
    const output = [
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\SKF\\LongmaiGM3000',
      '    path    REG_SZ    C:\\Windows\\system32\\mtoken_gm3000.dll',
      '    vendor    REG_SZ    Longmai',
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\SKF\\HaiTai',
      '    DllPath    REG_EXPAND_SZ    %SystemRoot%\\System32\\SKFAPI20538.dll',
      '',
    ].join('\r\n');
    expect(parseRegQuery(output, { SystemRoot: 'C:\\Windows' })).toEqual([
      {
        key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\SKF\\LongmaiGM3000',
        name: 'LongmaiGM3000',
        path: 'C:\\Windows\\system32\\mtoken_gm3000.dll',
      },
      {
        key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\SKF\\HaiTai',
        name: 'HaiTai',
        path: 'C:\\Windows\\System32\\SKFAPI20538.dll',
      },
    ]);
  });
});
