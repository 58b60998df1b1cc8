import { execFileSync } from 'node:child_process';

/** An SKF library Windows knows of: a subkey of …\Cryptography\Defaults\SKF and the DLL it names. */
export interface RegisteredSkf {
  key: string;
  name: string;
  path: string;
}

/** Where vendors register SKF libraries; the WOW6432Node copy holds the 32-bit ones. */
export const SKF_REGISTRY_KEYS = [
  'HKLM\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\SKF',
  'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Cryptography\\Defaults\\SKF',
] as const;

/**
 * The DLLs named in the output of `reg query <key> /s`. Vendors differ in the value's name
 * ("Path", "path", "DllPath"…), so every string value that names a .dll counts.
 */
export function parseRegQuery(output: string, env: NodeJS.ProcessEnv = process.env): RegisteredSkf[] {
  const found: RegisteredSkf[] = [];
  let key = '';
  for (const line of output.split(/\r?\n/)) {
    if (/^HKEY_/i.test(line)) {
      key = line.trim();
      continue;
    }
    const m = /^\s+(.*?)\s{2,}(REG_SZ|REG_EXPAND_SZ)\s{2,}(.*?)\s*$/.exec(line);
    if (!m || !key) continue;
    const raw = m[3] ?? '';
    const value =
      m[2] === 'REG_EXPAND_SZ' ? raw.replace(/%([^%]+)%/g, (all, v: string) => env[v] ?? all) : raw;
    if (!/\.dll$/i.test(value)) continue;
    const name = key.slice(key.lastIndexOf('\\') + 1);
    found.push({ key, name, path: value.replace(/^"(.*)"$/, '$1') });
  }
  return found;
}

/** reg.exe writes in the console's code page: GBK on a Chinese Windows, so UTF-8 is only tried first. */
function consoleText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}

/** Reads the SKF registrations with reg.exe (present on every Windows); none elsewhere. */
export function readRegisteredSkf(): RegisteredSkf[] {
  if (process.platform !== 'win32') return [];
  return SKF_REGISTRY_KEYS.flatMap((key) => {
    try {
      const bytes = execFileSync('reg', ['query', key, '/s'], {
        windowsHide: true,
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return parseRegQuery(consoleText(bytes));
    } catch {
      // The key is absent: no vendor registered an SKF library there.
      return [];
    }
  });
}
