import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getAsset, isSea } from 'node:sea';
import type * as Koffi from 'koffi';

/** The asset name under which packaging/helper/build.ts embeds koffi's native part. */
export const KOFFI_ASSET = 'koffi.node';
const PREFIX = 'unified-id-helper-';

/**
 * koffi inside the single executable: its native part travels as an asset of the executable
 * (there is no node_modules beside it), so it is written to a private directory (mkdtemp makes it
 * 0700: no other user can put a library of their own there) and loaded from there with
 * process.dlopen.
 */
function loadEmbeddedKoffi(): typeof Koffi {
  if (!isSea()) throw new Error('embedded koffi is only for the single executable');
  removeStaleCopies();
  const bytes = new Uint8Array(getAsset(KOFFI_ASSET));
  const dir = mkdtempSync(path.join(tmpdir(), PREFIX));
  const file = path.join(dir, KOFFI_ASSET);
  writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
  const module = { exports: {} as Record<string, unknown> };
  try {
    process.dlopen(module, file);
  } finally {
    // Linux keeps a loaded library mapped after its file is gone; Windows refuses to delete a
    // loaded DLL, and that copy is removed by the next start (removeStaleCopies).
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
  if (typeof module.exports['load'] !== 'function') throw new Error('the embedded koffi did not load');
  return module.exports as unknown as typeof Koffi;
}

/** Copies left by earlier runs on Windows; a copy still loaded by a running helper stays (delete fails). */
function removeStaleCopies() {
  if (process.platform !== 'win32') return;
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith(PREFIX)) continue;
      try {
        rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
      } catch {}
    }
  } catch {}
}

export default loadEmbeddedKoffi();
