import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/**
 * The one place that loads the FFI layer (koffi), through which the helper reaches both PKCS#11
 * modules and SKF libraries. Kept alone so that the single executable can load koffi's native
 * part from its own embedded copy instead of node_modules.
 */
const require = createRequire(import.meta.url);
export const koffi: typeof Koffi = require('koffi');
