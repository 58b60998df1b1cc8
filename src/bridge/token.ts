import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import pkcs11js from 'pkcs11js';
import { parseCertificate } from '../pki/certificate.js';

export interface TokenCertificate {
  /** CKA_ID, hex: the private key with the same id signs for this certificate. */
  id: string;
  label: string;
  /** base64 DER */
  certificate: string;
  subject: string;
  /** What 选择证书 shows: the holder (O, else CN), the issuing CA, and the expiry (ISO 8601). */
  holderName?: string;
  issuerName?: string;
  notAfter: string;
  keyAlgorithm: string;
}

/** What `GET /v1/status` reports: the module in use and the slots that hold a token. */
export interface TokenStatus {
  module: string;
  library: string;
  /** The label of the token the bridge signs with. */
  token: string;
  slots: { index: number; label: string; manufacturer: string; model: string; selected: boolean }[];
}

/** The bridge's view of a token; the HTTP layer depends on this, not on pkcs11js, so it can be tested alone. */
export interface BridgeToken {
  info(): TokenStatus;
  listCertificates(): TokenCertificate[];
  sign(id: string, pin: string, data: Buffer, algorithm: string): Buffer;
}

export class PinIncorrect extends Error {
  override name = 'PinIncorrect';
  /** How many tries the key allows before it locks, when the token tells (SKF does; PKCS#11 does not). */
  constructor(readonly triesLeft?: number) {
    super(triesLeft === undefined ? 'PIN incorrect' : `PIN incorrect, ${triesLeft} tries left`);
  }
}
export class PinLocked extends Error {
  override name = 'PinLocked';
}
export class UnsupportedAlgorithm extends Error {
  override name = 'UnsupportedAlgorithm';
}
export class KeyNotFound extends Error {
  override name = 'KeyNotFound';
}
/** The key exists but is of another type than the algorithm asked (ECDSA with an RSA key, say). */
export class AlgorithmKeyMismatch extends Error {
  override name = 'AlgorithmKeyMismatch';
}

const pkcs11Code = (err: unknown) => (err as { code?: number }).code;

/** A CK_ULONG attribute: native byte order, 4 or 8 bytes depending on the platform. */
function readUlong(value: Buffer | undefined): number | undefined {
  if (!value) return undefined;
  const le = endianness() === 'LE';
  if (value.length === 8) return Number(le ? value.readBigUInt64LE(0) : value.readBigUInt64BE(0));
  if (value.length === 4) return le ? value.readUInt32LE(0) : value.readUInt32BE(0);
  return undefined;
}

const CKF_SERIAL_SESSION = pkcs11js.CKF_SERIAL_SESSION;

/**
 * A PKCS#11 token (a USB key, or SoftHSM2 in tests) through pkcs11js: lists the certificates and
 * signs with the matching private key after C_Login. The PIN is used for one signature and never kept.
 */
export class Pkcs11Token implements BridgeToken {
  readonly #module = new pkcs11js.PKCS11();
  readonly #modulePath: string;
  readonly #slotIndex: number;
  readonly #slot: pkcs11js.Handle;

  constructor(modulePath: string, slotIndex = 0) {
    this.#modulePath = modulePath;
    this.#slotIndex = slotIndex;
    this.#module.load(modulePath);
    this.#module.C_Initialize();
    const slots = this.#module.C_GetSlotList(true);
    const slot = slots[slotIndex];
    if (!slot) {
      this.#module.C_Finalize();
      throw new Error(`no token in slot ${slotIndex} (${slots.length} slot(s) with a token)`);
    }
    this.#slot = slot;
  }

  info(): TokenStatus {
    const slots = this.#module.C_GetSlotList(true).map((slot, index) => {
      const t = this.#module.C_GetTokenInfo(slot);
      return {
        index,
        label: t.label.trim(),
        manufacturer: t.manufacturerID.trim(),
        model: t.model.trim(),
        selected: index === this.#slotIndex,
      };
    });
    return {
      module: this.#modulePath,
      library: this.#module.C_GetInfo().libraryDescription.trim(),
      token: this.#module.C_GetTokenInfo(this.#slot).label.trim(),
      slots,
    };
  }

  listCertificates(): TokenCertificate[] {
    return this.#withSession((session) => {
      const handles = this.#find(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }]);
      const out: TokenCertificate[] = [];
      for (const handle of handles) {
        const [id, label, value] = this.#module.C_GetAttributeValue(session, handle, [
          { type: pkcs11js.CKA_ID },
          { type: pkcs11js.CKA_LABEL },
          { type: pkcs11js.CKA_VALUE },
        ]);
        const der = value?.value as Buffer | undefined;
        const ckaId = id?.value as Buffer | undefined;
        if (!der || !ckaId) continue;
        const parsed = parseCertificate(new Uint8Array(der));
        if (!parsed.ok) continue;
        out.push({
          id: ckaId.toString('hex'),
          label: (label?.value as Buffer)?.toString('utf8') ?? '',
          certificate: der.toString('base64'),
          subject: parsed.certificate.subject,
          ...(parsed.certificate.holderName ? { holderName: parsed.certificate.holderName } : {}),
          ...(parsed.certificate.issuerDisplayName
            ? { issuerName: parsed.certificate.issuerDisplayName }
            : {}),
          notAfter: parsed.certificate.notAfter.toISOString(),
          keyAlgorithm: parsed.certificate.keyAlgorithm,
        });
      }
      return out;
    });
  }

  sign(id: string, pin: string, data: Buffer, algorithm: string): Buffer {
    const { mechanism, input, keyType } = this.#mechanism(algorithm, data);
    return this.#withSession((session) => {
      try {
        this.#module.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (err) {
        const code = pkcs11Code(err);
        // Some tokens answer PIN_INCORRECT on the attempt that locks them; the token flags tell.
        if (code === pkcs11js.CKR_PIN_LOCKED || this.#userPinLocked()) throw new PinLocked();
        if (
          code === pkcs11js.CKR_PIN_INCORRECT ||
          code === pkcs11js.CKR_PIN_INVALID ||
          code === pkcs11js.CKR_PIN_LEN_RANGE
        )
          throw new PinIncorrect();
        throw err;
      }
      try {
        const [key] = this.#find(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') },
        ]);
        if (!key) throw new KeyNotFound();
        // Modules differ in how they refuse a mechanism for the wrong key (SoftHSM2: GENERAL_ERROR),
        // so the key type is compared first.
        const [type] = this.#module.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_KEY_TYPE }]);
        const actual = readUlong(type?.value as Buffer | undefined);
        if (actual !== undefined && actual !== keyType) throw new AlgorithmKeyMismatch(algorithm);
        try {
          this.#module.C_SignInit(session, mechanism, key);
        } catch (err) {
          const code = pkcs11Code(err);
          if (
            code === pkcs11js.CKR_KEY_TYPE_INCONSISTENT ||
            code === pkcs11js.CKR_MECHANISM_INVALID ||
            code === pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED
          )
            throw new AlgorithmKeyMismatch(algorithm);
          throw err;
        }
        return Buffer.from(this.#module.C_Sign(session, input, Buffer.alloc(1024)));
      } finally {
        this.#module.C_Logout(session);
      }
    });
  }

  close() {
    this.#module.C_Finalize();
  }

  #userPinLocked(): boolean {
    try {
      return (this.#module.C_GetTokenInfo(this.#slot).flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0;
    } catch {
      return false;
    }
  }

  #mechanism(
    algorithm: string,
    data: Buffer,
  ): { mechanism: pkcs11js.Mechanism; input: Buffer; keyType: number } {
    switch (algorithm) {
      case 'RSASSA-PKCS1-v1_5-SHA256':
        return {
          mechanism: { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS },
          input: data,
          keyType: pkcs11js.CKK_RSA,
        };
      case 'RSA-PSS-SHA256':
        return {
          mechanism: {
            mechanism: pkcs11js.CKM_SHA256_RSA_PKCS_PSS,
            parameter: {
              hashAlg: pkcs11js.CKM_SHA256,
              mgf: pkcs11js.CKG_MGF1_SHA256,
              saltLen: 32,
              type: pkcs11js.CK_PARAMS_RSA_PSS,
            } as pkcs11js.RsaPSS,
          },
          input: data,
          keyType: pkcs11js.CKK_RSA,
        };
      // PKCS#11 ECDSA signs a digest and answers raw r||s, which the server accepts.
      case 'ECDSA-P256-SHA256':
        return {
          mechanism: { mechanism: pkcs11js.CKM_ECDSA },
          input: createHash('sha256').update(data).digest(),
          keyType: pkcs11js.CKK_EC,
        };
      case 'ECDSA-P384-SHA384':
        return {
          mechanism: { mechanism: pkcs11js.CKM_ECDSA },
          input: createHash('sha384').update(data).digest(),
          keyType: pkcs11js.CKK_EC,
        };
      default:
        // SM2 needs a vendor module (SoftHSM2 has no SM2 mechanism).
        throw new UnsupportedAlgorithm(algorithm);
    }
  }

  #find(session: pkcs11js.Handle, template: pkcs11js.Template): pkcs11js.Handle[] {
    this.#module.C_FindObjectsInit(session, template);
    try {
      return this.#module.C_FindObjects(session, 100);
    } finally {
      this.#module.C_FindObjectsFinal(session);
    }
  }

  #withSession<T>(work: (session: pkcs11js.Handle) => T): T {
    const session = this.#module.C_OpenSession(this.#slot, CKF_SERIAL_SESSION);
    try {
      return work(session);
    } finally {
      this.#module.C_CloseSession(session);
    }
  }
}
