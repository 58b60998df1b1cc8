import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What a shared library says about itself, read from its file without loading it. */
export interface LibraryExports {
  format: 'ELF' | 'PE';
  /** The CPU it is built for, named as Node names process.arch ('x64', 'ia32', 'arm64', …). */
  arch: string;
  /** Exported symbol names; undefined when the file has no readable export table (stripped of section headers, say). */
  names: Set<string> | undefined;
}

/** Vendor libraries are a few MB; anything far larger is not one, and is not read whole. */
const MAX_SIZE = 64 * 1024 * 1024;

const ELF_MACHINES: Record<number, string> = {
  3: 'ia32',
  40: 'arm',
  62: 'x64',
  183: 'arm64',
  258: 'loong64',
};
const PE_MACHINES: Record<number, string> = {
  332: 'ia32',
  34404: 'x64',
  43620: 'arm64',
  452: 'arm',
};

/**
 * The export table of an ELF (.so) or PE (.dll) file, read as bytes: looking at a library must
 * not run it (loading runs its constructors, and a vendor's may talk to the device). Undefined
 * when the file is neither format or can not be read.
 */
export function readExports(file: string): LibraryExports | undefined {
  let bytes: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > MAX_SIZE || size < 64) return undefined;
      bytes = Buffer.alloc(size);
      readSync(fd, bytes, 0, size, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    if (bytes.readUInt32BE(0) === 0x7f454c46) return readElf(bytes);
    if (bytes.readUInt16LE(0) === 0x5a4d) return readPe(bytes);
  } catch {
    // A truncated or malformed file: bounds checks threw RangeError.
  }
  return undefined;
}

/** ELF: the defined global and weak symbols of .dynsym (System V ABI, "Symbol Table"). */
function readElf(b: Buffer): LibraryExports | undefined {
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const addr = (o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o));
  const machine = u16(18);
  const arch = ELF_MACHINES[machine] ?? `elf-machine-${machine}`;
  const shoff = addr(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  if (!shoff || !shnum) return { format: 'ELF', arch, names: undefined };
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return is64
      ? {
          type: u32(o + 4),
          offset: addr(o + 24),
          size: addr(o + 32),
          link: u32(o + 40),
          entsize: addr(o + 56),
        }
      : { type: u32(o + 4), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24), entsize: u32(o + 36) };
  };
  const SHT_DYNSYM = 11;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_DYNSYM) continue;
    const strings = section(s.link);
    const entsize = s.entsize || (is64 ? 24 : 16);
    const names = new Set<string>();
    for (let o = s.offset + entsize; o + entsize <= s.offset + s.size; o += entsize) {
      const name = u32(o);
      const info = is64 ? b[o + 4]! : b[o + 12]!;
      const shndx = is64 ? u16(o + 6) : u16(o + 14);
      const binding = info >> 4;
      // Defined (not SHN_UNDEF) and visible to the dynamic linker (STB_GLOBAL or STB_WEAK).
      if (shndx === 0 || (binding !== 1 && binding !== 2)) continue;
      const start = strings.offset + name;
      const end = b.indexOf(0, start);
      if (end > start) names.add(b.toString('latin1', start, end));
    }
    return { format: 'ELF', arch, names };
  }
  return { format: 'ELF', arch, names: new Set() };
}

/** PE/COFF: the names of the export directory (Microsoft PE format, ".edata"). */
function readPe(b: Buffer): LibraryExports | undefined {
  const pe = b.readUInt32LE(0x3c);
  if (b.readUInt32LE(pe) !== 0x00004550) return undefined;
  const coff = pe + 4;
  const machine = b.readUInt16LE(coff);
  const arch = PE_MACHINES[machine] ?? `pe-machine-0x${machine.toString(16)}`;
  const sections = b.readUInt16LE(coff + 2);
  const optionalSize = b.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = b.readUInt16LE(opt);
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const dirCount = b.readUInt32LE(opt + (magic === 0x20b ? 108 : 92));
  if (dirCount < 1) return { format: 'PE', arch, names: new Set() };
  const exportRva = b.readUInt32LE(dirs);
  if (!exportRva) return { format: 'PE', arch, names: new Set() };
  const table = opt + optionalSize;
  const fileOffset = (rva: number) => {
    for (let i = 0; i < sections; i++) {
      const s = table + i * 40;
      const va = b.readUInt32LE(s + 12);
      const size = Math.max(b.readUInt32LE(s + 8), b.readUInt32LE(s + 16));
      if (rva >= va && rva < va + size) return rva - va + b.readUInt32LE(s + 20);
    }
    throw new RangeError(`RVA 0x${rva.toString(16)} is in no section`);
  };
  const dir = fileOffset(exportRva);
  const count = b.readUInt32LE(dir + 24);
  const namesAt = fileOffset(b.readUInt32LE(dir + 32));
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const start = fileOffset(b.readUInt32LE(namesAt + i * 4));
    const end = b.indexOf(0, start);
    if (end > start) names.add(b.toString('latin1', start, end));
  }
  return { format: 'PE', arch, names };
}
