import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { parseCertificate } from '../pki/certificate.js';

export interface TokenCertificate {
  /** CKA_ID, hex: the private key with the same id signs for this certificate. */
  id: string;
  label: string;
  /** base64 DER */
  certificate: string;
  subject: string;
  keyAlgorithm: string;
}

export class PinIncorrect extends Error {
  override name = 'PinIncorrect';
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

const CKF_SERIAL_SESSION = pkcs11js.CKF_SERIAL_SESSION;

/**
 * A PKCS#11 token (a USB key, or SoftHSM2 in tests) through pkcs11js: lists the certificates and
 * signs with the matching private key after C_Login. The PIN is used for one signature and never kept.
 */
export class Pkcs11Token {
  readonly #module = new pkcs11js.PKCS11();
  readonly #slot: pkcs11js.Handle;

  constructor(modulePath: string, slotIndex = 0) {
    this.#module.load(modulePath);
    this.#module.C_Initialize();
    const slots = this.#module.C_GetSlotList(true);
    const slot = slots[slotIndex];
    if (!slot) throw new Error(`no token in slot ${slotIndex} (${slots.length} slot(s) with a token)`);
    this.#slot = slot;
  }

  info() {
    return {
      library: this.#module.C_GetInfo().libraryDescription.trim(),
      token: this.#module.C_GetTokenInfo(this.#slot).label.trim(),
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
          keyAlgorithm: parsed.certificate.keyAlgorithm,
        });
      }
      return out;
    });
  }

  sign(id: string, pin: string, data: Buffer, algorithm: string): Buffer {
    const { mechanism, input } = this.#mechanism(algorithm, data);
    return this.#withSession((session) => {
      try {
        this.#module.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === pkcs11js.CKR_PIN_INCORRECT) throw new PinIncorrect();
        if (code === pkcs11js.CKR_PIN_LOCKED) throw new PinLocked();
        throw err;
      }
      try {
        const [key] = this.#find(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') },
        ]);
        if (!key) throw new KeyNotFound();
        this.#module.C_SignInit(session, mechanism, key);
        return Buffer.from(this.#module.C_Sign(session, input, Buffer.alloc(1024)));
      } finally {
        this.#module.C_Logout(session);
      }
    });
  }

  close() {
    this.#module.C_Finalize();
  }

  #mechanism(algorithm: string, data: Buffer): { mechanism: pkcs11js.Mechanism; input: Buffer } {
    switch (algorithm) {
      case 'RSASSA-PKCS1-v1_5-SHA256':
        return { mechanism: { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, input: data };
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
        };
      // PKCS#11 ECDSA signs a digest and answers raw r||s, which the server accepts.
      case 'ECDSA-P256-SHA256':
        return {
          mechanism: { mechanism: pkcs11js.CKM_ECDSA },
          input: createHash('sha256').update(data).digest(),
        };
      case 'ECDSA-P384-SHA384':
        return {
          mechanism: { mechanism: pkcs11js.CKM_ECDSA },
          input: createHash('sha384').update(data).digest(),
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
