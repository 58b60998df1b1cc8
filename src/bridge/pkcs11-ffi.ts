import { endianness } from 'node:os';
import type { IKoffiCType, IKoffiLib } from 'koffi';
import { koffi } from './ffi.js';

/**
 * PKCS#11 (Cryptoki 2.40) through koffi: the module's C_GetFunctionList table is read and each
 * entry called through its prototype. CK_ULONG is the platform's `unsigned long` (32 bits on
 * Windows, 64 on 64-bit Linux), and on Windows the standard asks for structures packed to 1 byte.
 */

/** Return values and constants used here (PKCS#11 2.40 pkcs11t.h). */
export const CKR = {
  OK: 0x0,
  GENERAL_ERROR: 0x5,
  ARGUMENTS_BAD: 0x7,
  ATTRIBUTE_SENSITIVE: 0x11,
  ATTRIBUTE_TYPE_INVALID: 0x12,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_LOCKED: 0xa4,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  BUFFER_TOO_SMALL: 0x150,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

const CKR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(CKR).map(([name, code]) => [code, `CKR_${name}`]),
);

export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKF_USER_PIN_LOCKED = 0x40000;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKU_USER = 1;

export const CKO_CERTIFICATE = 1;
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
export const CKC_X_509 = 0;
export const CKK_RSA = 0;
export const CKK_EC = 3;

export const CKA = {
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  VALUE: 0x11,
  CERTIFICATE_TYPE: 0x80,
  KEY_TYPE: 0x100,
  SUBJECT: 0x101,
  ID: 0x102,
  SENSITIVE: 0x103,
  SIGN: 0x108,
  VERIFY: 0x10a,
  MODULUS: 0x120,
  PUBLIC_EXPONENT: 0x122,
  PRIVATE_EXPONENT: 0x123,
  PRIME_1: 0x124,
  PRIME_2: 0x125,
  EXPONENT_1: 0x126,
  EXPONENT_2: 0x127,
  COEFFICIENT: 0x128,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
  EXTRACTABLE: 0x162,
} as const;

export const CKM = {
  RSA_PKCS_PSS: 0x0d,
  SHA256_RSA_PKCS: 0x40,
  SHA256_RSA_PKCS_PSS: 0x43,
  SHA256: 0x250,
  ECDSA: 0x1041,
} as const;
export const CKG_MGF1_SHA256 = 0x2;

/** A PKCS#11 call that answered something other than CKR_OK. */
export class Pkcs11Error extends Error {
  override name = 'Pkcs11Error';
  constructor(
    readonly fn: string,
    readonly code: number,
  ) {
    super(`${fn} failed: ${CKR_NAMES[code] ?? `CKR 0x${code.toString(16)}`}`);
  }
}

/** A template entry: booleans are CK_BBOOL, numbers CK_ULONG, strings UTF-8. */
export interface Attribute {
  type: number;
  value?: boolean | number | string | Buffer;
}

export interface TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
}

export interface LibraryInfo {
  cryptokiVersion: string;
  manufacturerID: string;
  libraryDescription: string;
}

const UL = 'unsigned long';
const WINDOWS = process.platform === 'win32';
/** sizeof(CK_ULONG) on this platform. */
export const ULONG_SIZE: number = koffi.sizeof(UL);

function record(fields: Record<string, string | IKoffiCType>): IKoffiCType {
  return WINDOWS ? koffi.pack(fields) : koffi.struct(fields);
}

/** Built once: koffi types are process-wide, and the same module may be opened many times. */
function buildTypes() {
  const version = record({ major: 'uint8', minor: 'uint8' });
  const chars = (n: number) => koffi.array('uint8', n, 'Typed');
  const info = record({
    cryptokiVersion: version,
    manufacturerID: chars(32),
    flags: UL,
    libraryDescription: chars(32),
    libraryVersion: version,
  });
  const tokenInfo = record({
    label: chars(32),
    manufacturerID: chars(32),
    model: chars(16),
    serialNumber: chars(16),
    flags: UL,
    ulMaxSessionCount: UL,
    ulSessionCount: UL,
    ulMaxRwSessionCount: UL,
    ulRwSessionCount: UL,
    ulMaxPinLen: UL,
    ulMinPinLen: UL,
    ulTotalPublicMemory: UL,
    ulFreePublicMemory: UL,
    ulTotalPrivateMemory: UL,
    ulFreePrivateMemory: UL,
    hardwareVersion: version,
    firmwareVersion: version,
    utcTime: chars(16),
  });
  const attribute = record({ type: UL, pValue: 'void *', ulValueLen: UL });
  const mechanism = record({ mechanism: UL, pParameter: 'void *', ulParameterLen: UL });
  const functionList = record({ version, fn: koffi.array('void *', FUNCTIONS.length) });
  const ulOut = koffi.out(koffi.pointer(UL));
  const ulInOut = koffi.inout(koffi.pointer(UL));
  const proto = (args: (string | IKoffiCType)[]) => koffi.proto(UL, args);
  return {
    functionList,
    getFunctionList: [koffi.out(koffi.pointer('void *'))],
    C_Initialize: proto(['void *']),
    C_Finalize: proto(['void *']),
    C_GetInfo: proto([koffi.out(koffi.pointer(info))]),
    C_GetSlotList: proto(['uint8', 'void *', ulInOut]),
    C_GetTokenInfo: proto([UL, koffi.out(koffi.pointer(tokenInfo))]),
    C_OpenSession: proto([UL, UL, 'void *', 'void *', ulOut]),
    C_CloseSession: proto([UL]),
    C_Login: proto([UL, UL, 'void *', UL]),
    C_Logout: proto([UL]),
    C_CreateObject: proto([UL, koffi.pointer(attribute), UL, ulOut]),
    C_GetAttributeValue: proto([UL, UL, koffi.inout(koffi.pointer(attribute)), UL]),
    C_FindObjectsInit: proto([UL, koffi.pointer(attribute), UL]),
    C_FindObjects: proto([UL, 'void *', UL, ulOut]),
    C_FindObjectsFinal: proto([UL]),
    C_SignInit: proto([UL, koffi.pointer(mechanism), UL]),
    C_Sign: proto([UL, 'void *', UL, 'void *', ulInOut]),
  };
}

/** CK_FUNCTION_LIST in the standard's order (PKCS#11 2.40 §5.16, pkcs11f.h). */
const FUNCTIONS = [
  'C_Initialize',
  'C_Finalize',
  'C_GetInfo',
  'C_GetFunctionList',
  'C_GetSlotList',
  'C_GetSlotInfo',
  'C_GetTokenInfo',
  'C_GetMechanismList',
  'C_GetMechanismInfo',
  'C_InitToken',
  'C_InitPIN',
  'C_SetPIN',
  'C_OpenSession',
  'C_CloseSession',
  'C_CloseAllSessions',
  'C_GetSessionInfo',
  'C_GetOperationState',
  'C_SetOperationState',
  'C_Login',
  'C_Logout',
  'C_CreateObject',
  'C_CopyObject',
  'C_DestroyObject',
  'C_GetObjectSize',
  'C_GetAttributeValue',
  'C_SetAttributeValue',
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
  'C_EncryptInit',
  'C_Encrypt',
  'C_EncryptUpdate',
  'C_EncryptFinal',
  'C_DecryptInit',
  'C_Decrypt',
  'C_DecryptUpdate',
  'C_DecryptFinal',
  'C_DigestInit',
  'C_Digest',
  'C_DigestUpdate',
  'C_DigestKey',
  'C_DigestFinal',
  'C_SignInit',
  'C_Sign',
  'C_SignUpdate',
  'C_SignFinal',
  'C_SignRecoverInit',
  'C_SignRecover',
  'C_VerifyInit',
  'C_Verify',
  'C_VerifyUpdate',
  'C_VerifyFinal',
  'C_VerifyRecoverInit',
  'C_VerifyRecover',
  'C_DigestEncryptUpdate',
  'C_DecryptDigestUpdate',
  'C_SignEncryptUpdate',
  'C_DecryptVerifyUpdate',
  'C_GenerateKey',
  'C_GenerateKeyPair',
  'C_WrapKey',
  'C_UnwrapKey',
  'C_DeriveKey',
  'C_SeedRandom',
  'C_GenerateRandom',
  'C_GetFunctionStatus',
  'C_CancelFunction',
  'C_WaitForSlotEvent',
] as const;

let types: ReturnType<typeof buildTypes> | undefined;
const typesOnce = () => {
  types ??= buildTypes();
  return types;
};

const LE = endianness() === 'LE';

/** A CK_ULONG as the module reads it: native byte order, ULONG_SIZE bytes. */
export function ulongBytes(value: number): Buffer {
  const b = Buffer.alloc(ULONG_SIZE);
  if (ULONG_SIZE === 8) {
    if (LE) b.writeBigUInt64LE(BigInt(value));
    else b.writeBigUInt64BE(BigInt(value));
  } else if (LE) b.writeUInt32LE(value);
  else b.writeUInt32BE(value);
  return b;
}

/** A CK_ULONG attribute value or array entry (4 or 8 bytes, native order). */
export function readUlong(value: Buffer | undefined, offset = 0): number | undefined {
  if (!value || value.length < offset + ULONG_SIZE) return undefined;
  if (ULONG_SIZE === 8) return Number(LE ? value.readBigUInt64LE(offset) : value.readBigUInt64BE(offset));
  return LE ? value.readUInt32LE(offset) : value.readUInt32BE(offset);
}

function encodeValue(value: Attribute['value']): Buffer | null {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return Buffer.from([value ? 1 : 0]);
  if (typeof value === 'number') return ulongBytes(value);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return value;
}

/** CK_ATTRIBUTE objects whose pValue buffers stay alive for the duration of the call. */
function template(attributes: Attribute[]) {
  return attributes.map((a) => {
    const value = encodeValue(a.value);
    return { type: a.type, pValue: value, ulValueLen: value?.length ?? 0 };
  });
}

/** Blank-padded fixed-size UTF-8 fields of CK_INFO and CK_TOKEN_INFO. */
const text = (bytes: Uint8Array) =>
  Buffer.from(bytes)
    .toString('utf8')
    .replace(/[\s\0]+$/, '');

type Call = (...args: unknown[]) => number;

/** One loaded library: C_Initialize on first open, C_Finalize when the last user closes it. */
interface Loaded {
  lib: IKoffiLib;
  fns: Record<string, Call>;
  users: number;
}
const loaded = new Map<string, Loaded>();

/**
 * A PKCS#11 module opened through its function list. Opening the same path twice shares one
 * initialisation, since Cryptoki is initialised once per process and library.
 */
export class Pkcs11Module {
  readonly path: string;
  #loaded: Loaded | undefined;

  private constructor(path: string, state: Loaded) {
    this.path = path;
    this.#loaded = state;
  }

  static open(path: string): Pkcs11Module {
    const existing = loaded.get(path);
    if (existing) {
      existing.users += 1;
      return new Pkcs11Module(path, existing);
    }
    const t = typesOnce();
    const lib = koffi.load(path);
    try {
      const getFunctionList = lib.func('C_GetFunctionList', UL, t.getFunctionList);
      const out: unknown[] = [null];
      const rv = getFunctionList(out) as number;
      if (rv !== CKR.OK || !out[0]) throw new Pkcs11Error('C_GetFunctionList', rv);
      const table = koffi.decode(out[0], t.functionList) as { fn: unknown[] };
      const fns: Record<string, Call> = {};
      for (const name of Object.keys(t) as (keyof typeof t)[]) {
        if (!name.startsWith('C_')) continue;
        const pointer = table.fn[FUNCTIONS.indexOf(name as (typeof FUNCTIONS)[number])];
        if (!pointer) throw new Error(`${path}: the function list has no ${name}`);
        fns[name] = koffi.decode(pointer, t[name] as IKoffiCType) as Call;
      }
      const rvInit = fns['C_Initialize']!(null);
      if (rvInit !== CKR.OK && rvInit !== CKR.CRYPTOKI_ALREADY_INITIALIZED)
        throw new Pkcs11Error('C_Initialize', rvInit);
      const state: Loaded = { lib, fns, users: 1 };
      loaded.set(path, state);
      return new Pkcs11Module(path, state);
    } catch (err) {
      lib.unload();
      throw err;
    }
  }

  close(): void {
    const state = this.#loaded;
    if (!state) return;
    this.#loaded = undefined;
    state.users -= 1;
    if (state.users > 0) return;
    loaded.delete(this.path);
    state.fns['C_Finalize']!(null);
    // The library stays mapped: some modules keep threads that would outlive an unload.
  }

  #call(name: string, ...args: unknown[]): void {
    const fn = this.#loaded?.fns[name];
    if (!fn) throw new Error(`PKCS#11 module ${this.path} is closed`);
    const rv = fn(...args);
    if (rv !== CKR.OK) throw new Pkcs11Error(name, rv);
  }

  getInfo(): LibraryInfo {
    const out = [{}] as Record<string, never>[];
    this.#call('C_GetInfo', out);
    const info = out[0] as unknown as {
      cryptokiVersion: { major: number; minor: number };
      manufacturerID: Uint8Array;
      libraryDescription: Uint8Array;
    };
    return {
      cryptokiVersion: `${info.cryptokiVersion.major}.${info.cryptokiVersion.minor}`,
      manufacturerID: text(info.manufacturerID),
      libraryDescription: text(info.libraryDescription),
    };
  }

  /** Slot ids that hold a token. */
  getSlotList(tokenPresent = true): number[] {
    const count = [0];
    this.#call('C_GetSlotList', tokenPresent ? 1 : 0, null, count);
    if (!count[0]) return [];
    const list = Buffer.alloc(count[0] * ULONG_SIZE);
    this.#call('C_GetSlotList', tokenPresent ? 1 : 0, list, count);
    return Array.from({ length: count[0] }, (_, i) => readUlong(list, i * ULONG_SIZE) ?? 0);
  }

  getTokenInfo(slot: number): TokenInfo {
    const out = [{}];
    this.#call('C_GetTokenInfo', slot, out);
    const t = out[0] as {
      label: Uint8Array;
      manufacturerID: Uint8Array;
      model: Uint8Array;
      serialNumber: Uint8Array;
      flags: number;
    };
    return {
      label: text(t.label),
      manufacturerID: text(t.manufacturerID),
      model: text(t.model),
      serialNumber: text(t.serialNumber),
      flags: Number(t.flags),
    };
  }

  openSession(slot: number, flags = CKF_SERIAL_SESSION): number {
    const out = [0];
    this.#call('C_OpenSession', slot, flags, null, null, out);
    return out[0]!;
  }

  closeSession(session: number): void {
    this.#call('C_CloseSession', session);
  }

  login(session: number, pin: string): void {
    const bytes = Buffer.from(pin, 'utf8');
    try {
      this.#call('C_Login', session, CKU_USER, bytes, bytes.length);
    } finally {
      bytes.fill(0);
    }
  }

  logout(session: number): void {
    this.#call('C_Logout', session);
  }

  createObject(session: number, attributes: Attribute[]): number {
    const out = [0];
    const t = template(attributes);
    this.#call('C_CreateObject', session, t, t.length, out);
    return out[0]!;
  }

  findObjects(session: number, attributes: Attribute[]): number[] {
    const t = template(attributes);
    this.#call('C_FindObjectsInit', session, t, t.length);
    try {
      const found: number[] = [];
      const batch = 64;
      const handles = Buffer.alloc(batch * ULONG_SIZE);
      for (;;) {
        const count = [0];
        this.#call('C_FindObjects', session, handles, batch, count);
        for (let i = 0; i < count[0]!; i++) found.push(readUlong(handles, i * ULONG_SIZE) ?? 0);
        if (count[0]! < batch) return found;
      }
    } finally {
      this.#call('C_FindObjectsFinal', session);
    }
  }

  /**
   * The values of the attributes asked, undefined where the object has none or keeps it secret:
   * lengths first, then the values, as PKCS#11 2.40 §5.7 describes.
   */
  getAttributeValues(session: number, object: number, types: number[]): (Buffer | undefined)[] {
    return types.map((type) => {
      const probe = [{ type, pValue: null, ulValueLen: 0 }];
      try {
        this.#call('C_GetAttributeValue', session, object, probe, 1);
      } catch (err) {
        // This one attribute is secret or absent on this object.
        if (
          err instanceof Pkcs11Error &&
          (err.code === CKR.ATTRIBUTE_SENSITIVE || err.code === CKR.ATTRIBUTE_TYPE_INVALID)
        )
          return undefined;
        throw err;
      }
      const length = Number(probe[0]!.ulValueLen);
      // CK_UNAVAILABLE_INFORMATION is (CK_ULONG)-1.
      if (length >= 2 ** (ULONG_SIZE * 8) - 1 || length > 1 << 20) return undefined;
      const value = Buffer.alloc(length);
      const fetch = [{ type, pValue: value, ulValueLen: length }];
      this.#call('C_GetAttributeValue', session, object, fetch, 1);
      return value.subarray(0, Number(fetch[0]!.ulValueLen));
    });
  }

  signInit(session: number, mechanism: number, parameter: Buffer | null, key: number): void {
    const m = { mechanism, pParameter: parameter, ulParameterLen: parameter?.length ?? 0 };
    this.#call('C_SignInit', session, m, key);
  }

  sign(session: number, data: Buffer): Buffer {
    let signature = Buffer.alloc(1024);
    const length = [signature.length];
    try {
      this.#call('C_Sign', session, data, data.length, signature, length);
    } catch (err) {
      // A too-small buffer leaves the operation active and says the size needed (§5.2).
      if (!(err instanceof Pkcs11Error && err.code === CKR.BUFFER_TOO_SMALL)) throw err;
      signature = Buffer.alloc(length[0]!);
      this.#call('C_Sign', session, data, data.length, signature, length);
    }
    return signature.subarray(0, length[0]);
  }
}

/** CK_RSA_PKCS_PSS_PARAMS: three CK_ULONGs, so the same on every platform once sized. */
export function pssParameters(hashAlg: number, mgf: number, saltLength: number): Buffer {
  return Buffer.concat([ulongBytes(hashAlg), ulongBytes(mgf), ulongBytes(saltLength)]);
}
