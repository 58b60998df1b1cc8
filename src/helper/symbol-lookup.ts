import { koffi } from '../bridge/ffi.js';

/**
 * Whether a library exports `symbol`, found by loading it: only for files the table, the
 * registry or IT names and whose export table could not be read from the file, since loading
 * runs the library's own start-up code.
 */
export function hasSymbolWhenLoaded(file: string, symbol: string): boolean {
  try {
    const lib = koffi.load(file);
    try {
      lib.func(symbol, 'int', []);
      return true;
    } catch {
      return false;
    }
  } catch {
    return false;
  }
}
