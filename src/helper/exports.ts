import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What a shared library says about itself, read from its file without loading it. */
export interface LibraryExports {
  format: 'ELF' | 'PE';
  /** The CPU it is built for, named as Node names process.arch ('x64', 'ia32', 'arm64', …). */
  arch: string;
  /** Exported symbol names; undefined when neither the section headers nor the dynamic segment lead to them. */
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

/**
 * ELF: the defined global and weak symbols of the dynamic symbol table (System V ABI, "Symbol
 * Table"), found through the section headers, or, in a file stripped of them, through the
 * PT_DYNAMIC segment the dynamic linker itself reads.
 */
function readElf(b: Buffer): LibraryExports | undefined {
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o));
  const machine = u16(18);
  const arch = ELF_MACHINES[machine] ?? `elf-machine-${machine}`;
  const symbolSize = is64 ? 24 : 16;
  const table = fromSections() ?? fromDynamicSegment();
  if (!table) return { format: 'ELF', arch, names: undefined };

  const names = new Set<string>();
  // Entry 0 is the reserved undefined symbol.
  for (let i = 1; i < table.count; i++) {
    const o = table.symbols + i * table.entsize;
    const name = u32(o);
    const info = is64 ? b[o + 4]! : b[o + 12]!;
    const shndx = is64 ? u16(o + 6) : u16(o + 14);
    const binding = info >> 4;
    // Defined (not SHN_UNDEF) and visible to the dynamic linker (STB_GLOBAL or STB_WEAK).
    if (shndx === 0 || (binding !== 1 && binding !== 2)) continue;
    const start = table.strings + name;
    const end = b.indexOf(0, start);
    if (end > start) names.add(b.toString('latin1', start, end));
  }
  return { format: 'ELF', arch, names };

  function fromSections(): { symbols: number; count: number; entsize: number; strings: number } | undefined {
    const shoff = word(is64 ? 0x28 : 0x20);
    const shentsize = u16(is64 ? 0x3a : 0x2e);
    const shnum = u16(is64 ? 0x3c : 0x30);
    if (!shoff || !shnum) return undefined;
    const section = (i: number) => {
      const o = shoff + i * shentsize;
      return is64
        ? {
            type: u32(o + 4),
            offset: word(o + 24),
            size: word(o + 32),
            link: u32(o + 40),
            entsize: word(o + 56),
          }
        : {
            type: u32(o + 4),
            offset: u32(o + 16),
            size: u32(o + 20),
            link: u32(o + 24),
            entsize: u32(o + 36),
          };
    };
    const SHT_DYNSYM = 11;
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (s.type !== SHT_DYNSYM) continue;
      const entsize = s.entsize || symbolSize;
      return {
        symbols: s.offset,
        count: Math.floor(s.size / entsize),
        entsize,
        strings: section(s.link).offset,
      };
    }
    return { symbols: 0, count: 0, entsize: symbolSize, strings: 0 };
  }

  function fromDynamicSegment():
    | { symbols: number; count: number; entsize: number; strings: number }
    | undefined {
    const phoff = word(is64 ? 0x20 : 0x1c);
    const phentsize = u16(is64 ? 0x36 : 0x2a);
    const phnum = u16(is64 ? 0x38 : 0x2c);
    const segments = Array.from({ length: phnum }, (_, i) => {
      const o = phoff + i * phentsize;
      return is64
        ? { type: u32(o), offset: word(o + 8), vaddr: word(o + 16), filesz: word(o + 32) }
        : { type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16) };
    });
    const PT_LOAD = 1;
    const PT_DYNAMIC = 2;
    const fileOffset = (vaddr: number) => {
      const load = segments.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz);
      if (!load) throw new RangeError(`address 0x${vaddr.toString(16)} is in no loaded segment`);
      return load.offset + (vaddr - load.vaddr);
    };
    const dynamic = segments.find((p) => p.type === PT_DYNAMIC);
    if (!dynamic) return undefined;
    const tags = new Map<number, number>();
    const entry = is64 ? 16 : 8;
    for (let o = dynamic.offset; o + entry <= dynamic.offset + dynamic.filesz; o += entry) {
      const tag = word(o);
      if (tag === 0) break;
      if (!tags.has(tag)) tags.set(tag, word(o + entry / 2));
    }
    const DT_HASH = 4;
    const DT_STRTAB = 5;
    const DT_SYMTAB = 6;
    const DT_SYMENT = 11;
    const DT_GNU_HASH = 0x6ffffef5;
    const symtab = tags.get(DT_SYMTAB);
    const strtab = tags.get(DT_STRTAB);
    if (symtab === undefined || strtab === undefined) return undefined;
    const entsize = tags.get(DT_SYMENT) || symbolSize;
    let count: number;
    const hash = tags.get(DT_HASH);
    const gnuHash = tags.get(DT_GNU_HASH);
    if (hash !== undefined) {
      count = u32(fileOffset(hash) + 4); // nchain: one chain entry per symbol
    } else if (gnuHash !== undefined) {
      // The GNU hash table counts no symbols: the last one is the end of the longest chain.
      const h = fileOffset(gnuHash);
      const nbuckets = u32(h);
      const symoffset = u32(h + 4);
      const bloomWords = u32(h + 8);
      const buckets = h + 16 + bloomWords * (is64 ? 8 : 4);
      let last = 0;
      for (let i = 0; i < nbuckets; i++) last = Math.max(last, u32(buckets + i * 4));
      if (last < symoffset) count = symoffset;
      else {
        const chains = buckets + nbuckets * 4;
        while ((u32(chains + (last - symoffset) * 4) & 1) === 0) last++;
        count = last + 1;
      }
    } else return undefined;
    return { symbols: fileOffset(symtab), count, entsize, strings: fileOffset(strtab) };
  }
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
