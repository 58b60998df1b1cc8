import type { ParsedCertificate } from '../pki/certificate.js';
import { bytesEqual, encodeDerSignature, toHex } from '../pki/encoding.js';
import { isSignatureAlgorithm } from '../pki/signature.js';
import { SM2_DEFAULT_USER_ID, sm2MessageDigest } from '../pki/sm2.js';
import { SAR, type SkfHandle, SkfLibrary } from './skf-library.js';
import {
  AlgorithmKeyMismatch,
  type BridgeToken,
  KeyNotFound,
  PinIncorrect,
  PinLocked,
  type TokenCertificate,
  type TokenStatus,
  UnsupportedAlgorithm,
} from './token.js';
import { tokenCertificate } from './token-certificate.js';

export interface SkfTokenOptions {
  /** The device name SKF_EnumDev reports; the first device present when absent. */
  device?: string;
  /** Only this application of the device; all of them when absent. */
  application?: string;
  /** The SM2 signer's user id hashed into Z; GM/T 0009's default unless CA and provider agreed on another. */
  userId?: string;
}

/** SKF_GetContainerType: 2 is an ECC (SM2) container. RSA containers are left to PKCS#11. */
const ECC_CONTAINER = 2;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const gb18030 = new TextDecoder('gb18030');
/** Device, application and container names are ASCII or UTF-8 on most keys, GBK on some. */
const nameText = (bytes: Buffer) => {
  try {
    return utf8.decode(bytes);
  } catch {
    return gb18030.decode(bytes);
  }
};

/**
 * A certificate's id on the bridge: application and container names, as the bytes the key gave
 * them, joined by a zero byte (no name holds one), in hex.
 */
function containerId(application: Buffer, container: Buffer): string {
  return `${application.toString('hex')}00${container.toString('hex')}`;
}

function parseContainerId(id: string): { application: Buffer; container: Buffer } | undefined {
  const bytes = Buffer.from(id, 'hex');
  const zero = bytes.indexOf(0);
  if (zero <= 0 || zero === bytes.length - 1) return undefined;
  return { application: bytes.subarray(0, zero), container: bytes.subarray(zero + 1) };
}

/** Whether the exported point (04 || X || Y) is the certificate's point, which may be compressed. */
function samePoint(exported: Buffer, certified: Uint8Array): boolean {
  if (certified[0] === 0x04) return bytesEqual(exported, certified);
  const yOdd = ((exported[exported.length - 1] ?? 0) & 1) === 1;
  return bytesEqual(exported.subarray(1, 33), certified.subarray(1)) && (certified[0] === 0x03) === yOdd;
}

/**
 * A USB key reached through its vendor's SKF library (GM/T 0016-2012), for the SM2 keys that
 * Chinese CAs issue and that vendors rarely expose through PKCS#11. The device is connected
 * for each request and let go after it, so a key unplugged and plugged back keeps working.
 * The PIN goes to SKF_VerifyPIN for one signature and the key is logged out right after.
 */
export class SkfToken implements BridgeToken {
  readonly #library: SkfLibrary;
  readonly #options: SkfTokenOptions;

  constructor(libraryPath: string, options: SkfTokenOptions = {}) {
    this.#library = new SkfLibrary(libraryPath);
    this.#options = options;
  }

  info(): TokenStatus {
    const names = this.#library.enumDevices();
    const chosen = this.#chosenDevice(names);
    const slots = names.map((name, index) => {
      const details = this.#deviceDetails(name);
      return {
        index,
        label: details?.label || nameText(name),
        manufacturer: details?.manufacturer ?? '',
        model: nameText(name),
        selected: name === chosen,
      };
    });
    const selected = slots.find((s) => s.selected);
    return {
      module: this.#library.path,
      library: selected?.manufacturer ? `SKF (${selected.manufacturer})` : 'SKF',
      token: selected?.label ?? '',
      slots,
    };
  }

  listCertificates(): TokenCertificate[] {
    return this.#withDevice((device) => {
      const out: TokenCertificate[] = [];
      for (const application of this.#applications(device)) {
        this.#withApplication(device, application, (app) => {
          for (const container of this.#library.enumContainers(app)) {
            const found = this.#certificateIn(app, application, container);
            if (found) out.push(found.entry);
          }
        });
      }
      return out;
    }, []);
  }

  sign(id: string, pin: string, data: Buffer, algorithm: string): Buffer {
    if (algorithm !== 'SM2-SM3')
      throw isSignatureAlgorithm(algorithm)
        ? new AlgorithmKeyMismatch(algorithm)
        : new UnsupportedAlgorithm(algorithm);
    const ref = parseContainerId(id);
    if (!ref) throw new KeyNotFound();
    return this.#withDevice(
      (device) => {
        if (!this.#applications(device).some((a) => a.equals(ref.application))) throw new KeyNotFound();
        return this.#withApplication(device, ref.application, (app) => {
          // Every check that needs no PIN comes first: a request that can not sign spends no try.
          const found = this.#certificateIn(app, ref.application, ref.container);
          if (!found) throw new KeyNotFound();
          const point = found.parsed.publicKey.keyAlgorithm === 'SM2' ? found.parsed.publicKey.point : null;
          if (!point) throw new KeyNotFound();
          return this.#withContainer(app, ref.container, (container) => {
            if (!samePoint(this.#library.exportSigningPublicKey(container), point)) throw new KeyNotFound();
            this.#verifyPin(app, pin);
            try {
              const digest = sm2MessageDigest(point, data, this.#options.userId ?? SM2_DEFAULT_USER_ID);
              const blob = this.#library.eccSign(container, Buffer.from(digest));
              // ECCSIGNATUREBLOB holds r and s right-aligned in 64 bytes; the server takes DER, as X.509 does.
              return Buffer.from(
                encodeDerSignature({
                  r: BigInt(`0x${toHex(blob.subarray(0, 64))}`),
                  s: BigInt(`0x${toHex(blob.subarray(64, 128))}`),
                }),
              );
            } finally {
              try {
                this.#library.clearSecureState(app);
              } catch {
                // Closing the application right after logs the user out on keys that lack this call.
              }
            }
          });
        });
      },
      () => {
        throw new KeyNotFound();
      },
    );
  }

  close(): void {
    this.#library.unload();
  }

  #verifyPin(app: SkfHandle, pin: string): void {
    const result = this.#library.verifyUserPin(app, pin);
    if (result.ok) return;
    if (result.code === SAR.PIN_LOCKED) throw new PinLocked();
    // The wrong PIN that spends the last try is still "incorrect" on most keys; the key is locked now.
    if (result.code === SAR.PIN_INCORRECT)
      throw result.triesLeft === 0 ? new PinLocked() : new PinIncorrect(result.triesLeft);
    // A PIN of a length or form the key refuses outright spends no try.
    if (result.code === SAR.PIN_INVALID || result.code === SAR.PIN_LEN_RANGE) throw new PinIncorrect();
    throw new Error(`SKF_VerifyPIN failed: 0x${result.code.toString(16)}`);
  }

  /** The signing certificate of an SM2 container, or undefined for anything else (empty, RSA, unreadable). */
  #certificateIn(
    app: SkfHandle,
    application: Buffer,
    container: Buffer,
  ): { entry: TokenCertificate; parsed: ParsedCertificate } | undefined {
    if (!this.#library.enumContainers(app).some((c) => c.equals(container))) return undefined;
    try {
      return this.#withContainer(app, container, (handle) => {
        if (this.#library.containerType(handle) !== ECC_CONTAINER) return undefined;
        const der = this.#library.exportSigningCertificate(handle);
        if (!der) return undefined;
        const found = tokenCertificate(der, containerId(application, container), nameText(container));
        return found?.parsed.keyAlgorithm === 'SM2' ? found : undefined;
      });
    } catch {
      // One container the key can not read does not hide the others.
      return undefined;
    }
  }

  #chosenDevice(names: Buffer[]): Buffer | undefined {
    const wanted = this.#options.device;
    return wanted === undefined ? names[0] : names.find((n) => nameText(n) === wanted);
  }

  #deviceDetails(name: Buffer): { label: string; manufacturer: string } | undefined {
    try {
      const device = this.#library.connect(name);
      try {
        const info = this.#library.deviceInfo(device);
        return { label: nameText(info.label).trim(), manufacturer: nameText(info.manufacturer).trim() };
      } finally {
        this.#library.disconnect(device);
      }
    } catch {
      return undefined;
    }
  }

  #applications(device: SkfHandle): Buffer[] {
    const all = this.#library.enumApplications(device);
    const wanted = this.#options.application;
    return wanted === undefined ? all : all.filter((a) => nameText(a) === wanted);
  }

  /** Runs `work` with the chosen device connected, or `absent` when no such device is plugged in. */
  #withDevice<T>(work: (device: SkfHandle) => T, absent: T | (() => T)): T {
    const name = this.#chosenDevice(this.#library.enumDevices());
    if (!name) return typeof absent === 'function' ? (absent as () => T)() : absent;
    const device = this.#library.connect(name);
    try {
      return work(device);
    } finally {
      this.#library.disconnect(device);
    }
  }

  #withApplication<T>(device: SkfHandle, name: Buffer, work: (app: SkfHandle) => T): T {
    const app = this.#library.openApplication(device, name);
    try {
      return work(app);
    } finally {
      this.#library.closeApplication(app);
    }
  }

  #withContainer<T>(app: SkfHandle, name: Buffer, work: (container: SkfHandle) => T): T {
    const container = this.#library.openContainer(app, name);
    try {
      return work(container);
    } finally {
      this.#library.closeContainer(container);
    }
  }
}
