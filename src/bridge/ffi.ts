import koffiModule from 'koffi';

/**
 * The one place that loads the FFI layer (koffi), through which the helper reaches both PKCS#11
 * modules and SKF libraries. Kept alone so that the single executable can load koffi's native
 * part from its own embedded copy instead of node_modules: the executable's bundler replaces the
 * `koffi` import with src/bridge/embedded-koffi.ts (see packaging/helper/build.ts).
 */
export const koffi = koffiModule;
