import { CONFIG_NAME, type HelperFile } from '../../src/helper/config.js';

/**
 * Names the installers share with the helper itself. The helper reads its provider origins from
 * CONFIG_FILE_NAME in the folder of its executable (src/helper/config.ts), written there by the
 * .deb and the Windows installer (IT may edit it, or pass --origin).
 */
export const APP_ID = 'cn.gov.unified-id.helper';
export const EXECUTABLE_NAME = 'unified-id-helper';
export const CONFIG_FILE_NAME = CONFIG_NAME;

export type HelperConfigFile = HelperFile;
