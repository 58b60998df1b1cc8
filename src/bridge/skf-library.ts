import { koffi } from './ffi.js';

// The calls of GM/T 0016-2012 (SKF) that the 证书助手 makes, over koffi. Types as the standard
// defines them: ULONG is 32-bit on every platform (not C's `long`), handles are pointers, names
// are byte strings (vendors use GBK as well as ASCII, so they are kept as bytes and handed back
// unchanged), and on Windows every function is __stdcall.

/** Return codes (SAR_*) of the standard that the helper tells apart. */
export const SAR = {
  OK: 0x00000000,
  CERT_NOT_FOUND: 0x0a00001c,
  BUFFER_TOO_SMALL: 0x0a000020,
  PIN_INCORRECT: 0x0a000024,
  PIN_LOCKED: 0x0a000025,
  PIN_INVALID: 0x0a000026,
  PIN_LEN_RANGE: 0x0a000027,
} as const;

const USER_TYPE = 1;
/** ECCPUBLICKEYBLOB: ULONG BitLen, then X and Y in 64-byte fields. */
const ECC_PUBLIC_KEY_BLOB_SIZE = 4 + 64 + 64;
/** ECCSIGNATUREBLOB: r and s in 64-byte fields. */
const ECC_SIGNATURE_BLOB_SIZE = 64 + 64;
/** DEVINFO is about 300 bytes; vendors pad it differently, so the buffer has room to spare. */
const DEVINFO_BUFFER_SIZE = 1024;

/** An SKF call that did not answer SAR_OK. */
export class SkfError extends Error {
  override name = 'SkfError';
  constructor(
    readonly call: string,
    readonly code: number,
  ) {
    super(`${call} failed: 0x${code.toString(16).padStart(8, '0')}`);
  }
}

/** A handle the library gave (device, application or container); opaque to JavaScript. */
export type SkfHandle = unknown;

export interface DeviceInfo {
  manufacturer: Buffer;
  issuer: Buffer;
  label: Buffer;
  serialNumber: Buffer;
}

export type VerifyPinResult = { ok: true } | { ok: false; code: number; triesLeft: number };

/** Names as the library wrote them: each ended by NUL, the list ended by an empty name. */
export function parseNameList(buffer: Buffer, size: number): Buffer[] {
  const names: Buffer[] = [];
  let start = 0;
  const end = Math.min(size, buffer.length);
  while (start < end) {
    const zero = buffer.indexOf(0, start);
    const stop = zero === -1 || zero > end ? end : zero;
    if (stop === start) break;
    names.push(Buffer.from(buffer.subarray(start, stop)));
    start = stop + 1;
  }
  return names;
}

/** A NUL-terminated copy of a name, as the `LPSTR` arguments want. */
const cString = (bytes: Buffer) => Buffer.concat([bytes, Buffer.from([0])]);

/** A fixed char field of a struct, up to its first NUL. */
const charField = (buffer: Buffer, offset: number, length: number) => {
  const field = buffer.subarray(offset, offset + length);
  const zero = field.indexOf(0);
  return Buffer.from(zero === -1 ? field : field.subarray(0, zero));
};

export class SkfLibrary {
  readonly #lib: ReturnType<typeof koffi.load>;
  readonly #fn: Record<string, (...args: unknown[]) => number>;

  constructor(readonly path: string) {
    this.#lib = koffi.load(path);
    const cc = process.platform === 'win32' ? '__stdcall ' : '';
    const declare = (prototype: string) => {
      const name = /(SKF_\w+)\(/.exec(prototype)![1]!;
      return [name, this.#lib.func(`uint32_t ${cc}${name}(${prototype.slice(prototype.indexOf('(') + 1)}`)];
    };
    try {
      this.#fn = Object.fromEntries(
        [
          'SKF_EnumDev(int32_t bPresent, uint8_t *szNameList, _Inout_ uint32_t *pulSize)',
          'SKF_ConnectDev(const uint8_t *szName, _Out_ void **phDev)',
          'SKF_DisConnectDev(void *hDev)',
          'SKF_GetDevInfo(void *hDev, uint8_t *pDevInfo)',
          'SKF_EnumApplication(void *hDev, uint8_t *szAppName, _Inout_ uint32_t *pulSize)',
          'SKF_OpenApplication(void *hDev, const uint8_t *szAppName, _Out_ void **phApplication)',
          'SKF_CloseApplication(void *hApplication)',
          'SKF_VerifyPIN(void *hApplication, uint32_t ulPINType, const uint8_t *szPIN, _Out_ uint32_t *pulRetryCount)',
          'SKF_ClearSecureState(void *hApplication)',
          'SKF_EnumContainer(void *hApplication, uint8_t *szContainerName, _Inout_ uint32_t *pulSize)',
          'SKF_OpenContainer(void *hApplication, const uint8_t *szContainerName, _Out_ void **phContainer)',
          'SKF_CloseContainer(void *hContainer)',
          'SKF_GetContainerType(void *hContainer, _Out_ uint32_t *pulContainerType)',
          'SKF_ExportCertificate(void *hContainer, int32_t bSignFlag, uint8_t *pbCert, _Inout_ uint32_t *pulCertLen)',
          'SKF_ExportPublicKey(void *hContainer, int32_t bSignFlag, uint8_t *pbBlob, _Inout_ uint32_t *pulBlobLen)',
          'SKF_ECCSignData(void *hContainer, const uint8_t *pbData, uint32_t ulDataLen, uint8_t *pSignature)',
        ].map(declare),
      );
    } catch (err) {
      this.#lib.unload();
      throw err;
    }
  }

  #call(name: string, ...args: unknown[]): void {
    const code = this.#fn[name]!(...args) >>> 0;
    if (code !== SAR.OK) throw new SkfError(name, code);
  }

  /** Asks for the size, then reads: the two-call pattern of every SKF list and export. */
  #read(name: string, prefix: unknown[], initial: number): Buffer {
    const size = [0];
    this.#call(name, ...prefix, null, size);
    let buffer = Buffer.alloc(Math.max(size[0]!, initial));
    size[0] = buffer.length;
    try {
      this.#call(name, ...prefix, buffer, size);
    } catch (err) {
      // The list grew between the two calls (a key plugged in): once more with the new size.
      if (!(err instanceof SkfError && err.code === SAR.BUFFER_TOO_SMALL)) throw err;
      buffer = Buffer.alloc(size[0]!);
      this.#call(name, ...prefix, buffer, size);
    }
    return buffer.subarray(0, Math.min(size[0]!, buffer.length));
  }

  #names(name: string, prefix: unknown[]): Buffer[] {
    const list = this.#read(name, prefix, 2);
    return parseNameList(list, list.length);
  }

  enumDevices(): Buffer[] {
    return this.#names('SKF_EnumDev', [1]);
  }

  connect(device: Buffer): SkfHandle {
    const handle = [null];
    this.#call('SKF_ConnectDev', cString(device), handle);
    return handle[0];
  }

  disconnect(device: SkfHandle): void {
    this.#call('SKF_DisConnectDev', device);
  }

  deviceInfo(device: SkfHandle): DeviceInfo {
    const info = Buffer.alloc(DEVINFO_BUFFER_SIZE);
    this.#call('SKF_GetDevInfo', device, info);
    // VERSION (2 bytes), then char arrays: their offsets do not depend on the vendor's packing.
    return {
      manufacturer: charField(info, 2, 64),
      issuer: charField(info, 66, 64),
      label: charField(info, 130, 32),
      serialNumber: charField(info, 162, 32),
    };
  }

  enumApplications(device: SkfHandle): Buffer[] {
    return this.#names('SKF_EnumApplication', [device]);
  }

  openApplication(device: SkfHandle, name: Buffer): SkfHandle {
    const handle = [null];
    this.#call('SKF_OpenApplication', device, cString(name), handle);
    return handle[0];
  }

  closeApplication(application: SkfHandle): void {
    this.#call('SKF_CloseApplication', application);
  }

  /** The user PIN; the copy handed to the library is zeroed afterwards. */
  verifyUserPin(application: SkfHandle, pin: string): VerifyPinResult {
    const bytes = cString(Buffer.from(pin, 'utf8'));
    const triesLeft = [0];
    try {
      const code = this.#fn['SKF_VerifyPIN']!(application, USER_TYPE, bytes, triesLeft) >>> 0;
      return code === SAR.OK ? { ok: true } : { ok: false, code, triesLeft: triesLeft[0]! };
    } finally {
      bytes.fill(0);
    }
  }

  /** Logs the user out of the application, so the key does not stay open after one signature. */
  clearSecureState(application: SkfHandle): void {
    this.#call('SKF_ClearSecureState', application);
  }

  enumContainers(application: SkfHandle): Buffer[] {
    return this.#names('SKF_EnumContainer', [application]);
  }

  openContainer(application: SkfHandle, name: Buffer): SkfHandle {
    const handle = [null];
    this.#call('SKF_OpenContainer', application, cString(name), handle);
    return handle[0];
  }

  closeContainer(container: SkfHandle): void {
    this.#call('SKF_CloseContainer', container);
  }

  /** 0: empty, 1: RSA, 2: ECC (SM2). */
  containerType(container: SkfHandle): number {
    const type = [0];
    this.#call('SKF_GetContainerType', container, type);
    return type[0]!;
  }

  /** DER of the container's signing certificate, or undefined when it has none. */
  exportSigningCertificate(container: SkfHandle): Buffer | undefined {
    try {
      return this.#read('SKF_ExportCertificate', [container, 1], 0);
    } catch (err) {
      if (err instanceof SkfError && err.code === SAR.CERT_NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** The signing key's public point as 04 || X || Y (32 bytes each, from the blob's 64-byte fields). */
  exportSigningPublicKey(container: SkfHandle): Buffer {
    const blob = Buffer.alloc(ECC_PUBLIC_KEY_BLOB_SIZE);
    this.#call('SKF_ExportPublicKey', container, 1, blob, [blob.length]);
    return Buffer.concat([Buffer.from([0x04]), blob.subarray(4 + 32, 4 + 64), blob.subarray(4 + 64 + 32)]);
  }

  /** Signs a 32-byte digest; returns the ECCSIGNATUREBLOB (r and s, 64 bytes each, right-aligned). */
  eccSign(container: SkfHandle, digest: Buffer): Buffer {
    const blob = Buffer.alloc(ECC_SIGNATURE_BLOB_SIZE);
    this.#call('SKF_ECCSignData', container, digest, digest.length, blob);
    return blob;
  }

  unload(): void {
    this.#lib.unload();
  }
}
