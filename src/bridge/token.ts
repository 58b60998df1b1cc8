import { createHash } from 'node:crypto';
import { parseCertificate } from '../pki/certificate.js';
import {
  CKA,
  CKF_USER_PIN_LOCKED,
  CKG_MGF1_SHA256,
  CKK_EC,
  CKK_RSA,
  CKM,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKR,
  Pkcs11Error,
  Pkcs11Module,
  pssParameters,
  readUlong,
} from './pkcs11-ffi.js';

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

/** The bridge's view of a token; the HTTP layer depends on this, not on a PKCS#11 or SKF library, so it can be tested alone. */
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

const pkcs11Code = (err: unknown) => (err instanceof Pkcs11Error ? err.code : undefined);

/**
 * A PKCS#11 token (a USB key, or SoftHSM2 in tests) through koffi: lists the certificates and
 * signs with the matching private key after C_Login. The PIN is used for one signature and never kept.
 */
export class Pkcs11Token implements BridgeToken {
  readonly #module: Pkcs11Module;
  readonly #modulePath: string;
  readonly #slot: number;

  /**
   * `slot` is an index among the slots holding a token (what IT passes as --slot), or the
   * module's own slot id, which stays the same while other keys come and go.
   */
  constructor(modulePath: string, slot: number | { slotId: number } = 0) {
    this.#modulePath = modulePath;
    this.#module = Pkcs11Module.open(modulePath);
    const slots = this.#module.getSlotList(true);
    const index = typeof slot === 'number' ? slot : slots.indexOf(slot.slotId);
    const chosen = slots[index];
    if (chosen === undefined) {
      this.#module.close();
      throw new Error(
        typeof slot === 'number'
          ? `no token in slot ${slot} (${slots.length} slot(s) with a token)`
          : `no token in slot id ${slot.slotId}`,
      );
    }
    this.#slot = chosen;
  }

  info(): TokenStatus {
    const slots = this.#module.getSlotList(true).map((slot, index) => {
      const t = this.#module.getTokenInfo(slot);
      return {
        index,
        label: t.label,
        manufacturer: t.manufacturerID,
        model: t.model,
        selected: slot === this.#slot,
      };
    });
    return {
      module: this.#modulePath,
      library: this.#module.getInfo().libraryDescription,
      token: this.#module.getTokenInfo(this.#slot).label,
      slots,
    };
  }

  listCertificates(): TokenCertificate[] {
    return this.#withSession((session) => {
      const handles = this.#module.findObjects(session, [{ type: CKA.CLASS, value: CKO_CERTIFICATE }]);
      const out: TokenCertificate[] = [];
      for (const handle of handles) {
        const [ckaId, label, der] = this.#module.getAttributeValues(session, handle, [
          CKA.ID,
          CKA.LABEL,
          CKA.VALUE,
        ]);
        if (!der || !ckaId?.length) continue;
        const parsed = parseCertificate(new Uint8Array(der));
        if (!parsed.ok) continue;
        out.push({
          id: ckaId.toString('hex'),
          label: label?.toString('utf8') ?? '',
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
    const { mechanism, parameter, input, keyType } = this.#mechanism(algorithm, data);
    return this.#withSession((session) => {
      try {
        this.#module.login(session, pin);
      } catch (err) {
        const code = pkcs11Code(err);
        // Some tokens answer PIN_INCORRECT on the attempt that locks them; the token flags tell.
        if (code === CKR.PIN_LOCKED || this.#userPinLocked()) throw new PinLocked();
        if (code === CKR.PIN_INCORRECT || code === CKR.PIN_INVALID || code === CKR.PIN_LEN_RANGE)
          throw new PinIncorrect();
        throw err;
      }
      try {
        const [key] = this.#module.findObjects(session, [
          { type: CKA.CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA.ID, value: Buffer.from(id, 'hex') },
        ]);
        if (key === undefined) throw new KeyNotFound();
        // Modules differ in how they refuse a mechanism for the wrong key (SoftHSM2: GENERAL_ERROR),
        // so the key type is compared first.
        const [type] = this.#module.getAttributeValues(session, key, [CKA.KEY_TYPE]);
        const actual = readUlong(type);
        if (actual !== undefined && actual !== keyType) throw new AlgorithmKeyMismatch(algorithm);
        try {
          this.#module.signInit(session, mechanism, parameter, key);
        } catch (err) {
          const code = pkcs11Code(err);
          if (
            code === CKR.KEY_TYPE_INCONSISTENT ||
            code === CKR.MECHANISM_INVALID ||
            code === CKR.KEY_FUNCTION_NOT_PERMITTED
          )
            throw new AlgorithmKeyMismatch(algorithm);
          throw err;
        }
        return this.#module.sign(session, input);
      } finally {
        this.#module.logout(session);
      }
    });
  }

  close() {
    this.#module.close();
  }

  #userPinLocked(): boolean {
    try {
      return (this.#module.getTokenInfo(this.#slot).flags & CKF_USER_PIN_LOCKED) !== 0;
    } catch {
      return false;
    }
  }

  #mechanism(
    algorithm: string,
    data: Buffer,
  ): { mechanism: number; parameter: Buffer | null; input: Buffer; keyType: number } {
    switch (algorithm) {
      case 'RSASSA-PKCS1-v1_5-SHA256':
        return { mechanism: CKM.SHA256_RSA_PKCS, parameter: null, input: data, keyType: CKK_RSA };
      case 'RSA-PSS-SHA256':
        return {
          mechanism: CKM.SHA256_RSA_PKCS_PSS,
          parameter: pssParameters(CKM.SHA256, CKG_MGF1_SHA256, 32),
          input: data,
          keyType: CKK_RSA,
        };
      // PKCS#11 ECDSA signs a digest and answers raw r||s, which the server accepts.
      case 'ECDSA-P256-SHA256':
        return {
          mechanism: CKM.ECDSA,
          parameter: null,
          input: createHash('sha256').update(data).digest(),
          keyType: CKK_EC,
        };
      case 'ECDSA-P384-SHA384':
        return {
          mechanism: CKM.ECDSA,
          parameter: null,
          input: createHash('sha384').update(data).digest(),
          keyType: CKK_EC,
        };
      default:
        // SM2 goes through SKF (vendor PKCS#11 modules name SM2 mechanisms with codes of their own).
        throw new UnsupportedAlgorithm(algorithm);
    }
  }

  #withSession<T>(work: (session: number) => T): T {
    const session = this.#module.openSession(this.#slot);
    try {
      return work(session);
    } finally {
      this.#module.closeSession(session);
    }
  }
}
