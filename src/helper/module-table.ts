/**
 * The USB-key libraries the 证书助手 looks for without being told, one row per product. A row
 * names the library files on Windows and Linux and, where the vendor installs somewhere of its
 * own, the folders. Whether a file found is PKCS#11 or SKF is not taken from here: the helper
 * reads what the file exports (docs/helper-it.md, "Adding a CA's module to the table").
 *
 * File names are matched without regard to case; `*` stands for any run of characters, so
 * `libes_3000gm.so*` also finds `libes_3000gm.so.1.0.0`.
 */
export interface ModuleEntry {
  vendor: string;
  product: string;
  /** DLL names, looked for in System32 (and SysWOW64) and in `windowsPlaces`. */
  windows?: readonly string[];
  /** Shared-object names, looked for in the usual Linux places and in `linuxPlaces`. */
  linux?: readonly string[];
  /** Folders of this vendor's own: Windows ones under %ProgramFiles% and %ProgramFiles(x86)%. */
  windowsPlaces?: readonly string[];
  /** Absolute Linux folders of this vendor's own; `*` matches one folder name. */
  linuxPlaces?: readonly string[];
}

export const MODULE_TABLE: readonly ModuleEntry[] = [
  {
    vendor: '飞天诚信 Feitian',
    product: 'ePass3000GM',
    windows: ['ShuttleCsp11_3000GM.dll', 'ShuttleCsp11_3000GM_*.dll'],
    linux: ['libes_3000gm.so*', 'libshuttle_p11v220.so*'],
  },
  {
    vendor: '飞天诚信 Feitian',
    product: 'ePass2003',
    windows: ['eps2003csp11.dll'],
    linux: ['libcastle.so*'],
  },
  {
    vendor: '龙脉科技 Longmai',
    product: 'mToken GM3000',
    windows: ['mtoken_gm3000.dll', 'mtoken_gm3000_*.dll'],
    linux: ['libgm3000*.so*'],
  },
  {
    vendor: '握奇 WatchData',
    product: 'TimeCOS / WDKey',
    windows: ['WDPKCS.dll', 'wdpkcs11.dll', 'libwdpkcs_Proxkey.dll'],
    linux: ['libwdpkcs*.so*'],
    windowsPlaces: ['WatchData'],
  },
  {
    vendor: '海泰方圆 Haitai',
    product: 'HaiKey',
    windows: ['SKFAPI20538.dll'],
  },
  {
    vendor: '网证通 NETCA',
    product: 'NETCA key',
    windows: ['NetcaSKF.dll'],
  },
  {
    vendor: '国密 USB keys of BJCA',
    product: 'lgu3073 / USK218',
    windows: ['lgu3073_p1514_gm.dll', 'USK218_GM.dll'],
  },
  {
    vendor: 'OpenSC',
    product: 'OpenSC smart-card module',
    windows: ['opensc-pkcs11.dll'],
    linux: ['opensc-pkcs11.so'],
    windowsPlaces: ['OpenSC Project\\OpenSC\\pkcs11'],
  },
  {
    vendor: 'SoftHSM',
    product: 'SoftHSM2 (a software token, for testing)',
    windows: ['softhsm2-x64.dll', 'softhsm2.dll'],
    linux: ['libsofthsm2.so'],
    windowsPlaces: ['SoftHSM2\\lib'],
    linuxPlaces: ['/usr/lib/softhsm', '/usr/lib/*/softhsm', '/usr/local/lib/softhsm'],
  },
];

/**
 * Linux folders looked in for every row's names (`*` matches one folder name): where Debian,
 * 统信UOS and 麒麟 put libraries, and where vendors install (统信UOS asks applications to live
 * in /opt/apps/<appid>/files).
 */
export const LINUX_PLACES: readonly string[] = [
  '/usr/lib',
  '/usr/lib64',
  '/usr/lib32',
  '/usr/lib/*-linux-gnu*',
  '/usr/lib/*-linux-gnu*/pkcs11',
  '/usr/lib/pkcs11',
  '/usr/local/lib',
  '/usr/local/lib64',
  '/opt/apps/*/files/lib',
  '/opt/apps/*/files/lib64',
  '/opt/*/lib',
  '/opt/*/lib64',
];

/**
 * Folders where a library that no row names is still examined, and kept if it exports PKCS#11
 * or SKF: what sits there was put by a vendor's installer, unlike the thousands of system
 * libraries in /usr/lib.
 */
export const LINUX_VENDOR_PLACES: readonly string[] = ['/opt/apps/*/files/lib', '/opt/*/lib'];

/** Whether `name` matches a table pattern (`*` is any run of characters, case ignored). */
export function matchesName(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(name);
}

/** The rows whose names match a file name on this platform. */
export function rowsFor(name: string, platform: NodeJS.Platform): ModuleEntry[] {
  return MODULE_TABLE.filter((row) =>
    (platform === 'win32' ? row.windows : row.linux)?.some((p) => matchesName(p, name)),
  );
}
