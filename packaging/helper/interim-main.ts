import { existsSync } from 'node:fs';
import { koffi } from '../../src/bridge/ffi.js';

/**
 * Stand-in entry of the single executable until src/helper/main.ts (discovery, the local service)
 * exists: `--list [--module <path>]` prints the tokens a PKCS#11 module sees, through koffi, so
 * the packaging can be built and tested end to end. packaging/helper/build.ts uses
 * src/helper/main.ts as soon as that file is there.
 */
const DEFAULT_MODULES = ['/usr/lib/softhsm/libsofthsm2.so'];
const CKR_OK = 0;

function tokenLabels(modulePath: string): string[] {
  const lib = koffi.load(modulePath);
  const C_Initialize = lib.func('unsigned long C_Initialize(void *args)');
  const C_Finalize = lib.func('unsigned long C_Finalize(void *reserved)');
  const C_GetSlotList = lib.func(
    'unsigned long C_GetSlotList(uint8_t present, void *slots, _Inout_ unsigned long *count)',
  );
  const C_GetTokenInfo = lib.func('unsigned long C_GetTokenInfo(unsigned long slot, void *info)');
  const check = (rv: number, what: string) => {
    if (rv !== CKR_OK) throw new Error(`${what} returned 0x${rv.toString(16)}`);
  };
  check(C_Initialize(null), 'C_Initialize');
  try {
    const count = [0];
    check(C_GetSlotList(1, null, count), 'C_GetSlotList');
    const size = koffi.sizeof('unsigned long');
    const slots = Buffer.alloc(size * (count[0] ?? 0));
    check(C_GetSlotList(1, slots, count), 'C_GetSlotList');
    const labels: string[] = [];
    for (let i = 0; i < (count[0] ?? 0); i++) {
      const slot = size === 8 ? Number(slots.readBigUInt64LE(i * 8)) : slots.readUInt32LE(i * 4);
      // CK_TOKEN_INFO begins with the 32-byte blank-padded label.
      const info = Buffer.alloc(512);
      check(C_GetTokenInfo(slot, info), 'C_GetTokenInfo');
      labels.push(info.subarray(0, 32).toString('utf8').trimEnd());
    }
    return labels;
  } finally {
    C_Finalize(null);
  }
}

const args = process.argv.slice(2);
const moduleAt = args.indexOf('--module');
const modules = moduleAt >= 0 ? [args[moduleAt + 1] ?? ''] : DEFAULT_MODULES.filter((m) => existsSync(m));
if (args.includes('--list') || args.includes('--self-test')) {
  for (const m of modules)
    console.log(
      `${m}\n${tokenLabels(m)
        .map((l) => `  token: ${l}`)
        .join('\n')}`,
    );
  process.exit(modules.length ? 0 : 1);
}
console.error('usage: unified-id-helper --list [--module <pkcs11 library>]');
process.exit(2);
