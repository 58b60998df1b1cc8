import { execFileSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pkcs11js from 'pkcs11js';
import { parseCertificate } from '../pki/certificate.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_MODULE);
}

/** A SoftHSM2 step that failed, with what the tool or the module said. */
export class SoftHsmError extends Error {
  override name = 'SoftHsmError';
}

export interface SoftHsmToken {
  label: string;
  pin: string;
  soPin: string;
}

/** DER of the named-curve OIDs, as CKA_EC_PARAMS wants them. SM2 is absent: SoftHSM2 has no SM2. */
const EC_PARAMS: Record<string, Buffer> = {
  prime256v1: Buffer.from('06082a8648ce3d030107', 'hex'),
  secp384r1: Buffer.from('06052b81040022', 'hex'),
};

/**
 * A SoftHSM2 token in a directory of its own (development and tests): the configuration file is
 * written there, unless `conf` names an existing one (the developer's own SOFTHSM2_CONF), and
 * SOFTHSM2_CONF points at it for this process and the tools it runs. The token is initialised
 * when no token has that label. Returns the configuration file.
 */
export function prepareSoftHsm(dir: string, token: SoftHsmToken, conf?: string): string {
  let file = conf;
  if (!file) {
    mkdirSync(path.join(dir, 'tokens'), { recursive: true });
    file = path.join(dir, 'softhsm2.conf');
    writeFileSync(
      file,
      `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
  }
  process.env['SOFTHSM2_CONF'] = file;
  const slots = runSoftHsmUtil(['--show-slots']);
  const labels = [...slots.matchAll(/^\s*Label:[ \t]*(.*?)\s*$/gm)].map((m) => m[1]);
  if (!labels.includes(token.label)) {
    runSoftHsmUtil([
      '--init-token',
      '--free',
      '--label',
      token.label,
      '--pin',
      token.pin,
      '--so-pin',
      token.soPin,
    ]);
  }
  return file;
}

function runSoftHsmUtil(args: string[]): string {
  try {
    return execFileSync('softhsm2-util', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    // The arguments may hold PINs: report the sub-command and the tool's own words only.
    throw new SoftHsmError(`softhsm2-util ${args[0]} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/**
 * Puts a private key, its public key and its certificate on the token under one CKA_ID, all
 * through PKCS#11 C_CreateObject so that the private key never lands in a file. The key is
 * sensitive and not extractable once on the token, like on a USB key.
 */
export function importIntoSoftHsm(
  token: { label: string; pin: string },
  item: { id: string; label: string; privateKey: KeyObject; certificateDer: Uint8Array },
): void {
  if (!/^(?:[0-9a-f]{2})+$/i.test(item.id))
    throw new SoftHsmError(`CKA_ID must be hex bytes, not "${item.id}"`);
  const parsed = parseCertificate(item.certificateDer);
  if (!parsed.ok) throw new SoftHsmError(`not a certificate: ${parsed.detail}`);
  const keyObjects = keyTemplates(item.privateKey);
  const id = Buffer.from(item.id, 'hex');
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_LABEL, value: item.label },
  ];

  const module = new pkcs11js.PKCS11();
  module.load(SOFTHSM_MODULE);
  module.C_Initialize();
  try {
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new SoftHsmError(`no SoftHSM2 token labelled ${token.label}`);
    const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      module.C_Login(session, pkcs11js.CKU_USER, token.pin);
      try {
        // The bridge picks the private key by CKA_ID: two keys under one id would sign with either.
        module.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_ID, value: id }]);
        const taken = module.C_FindObjects(session, 1);
        module.C_FindObjectsFinal(session);
        if (taken.length)
          throw new SoftHsmError(
            `CKA_ID ${item.id} is already used on token ${token.label}; choose another --id`,
          );
        module.C_CreateObject(session, [...common, ...keyObjects.privateKey]);
        module.C_CreateObject(session, [...common, ...keyObjects.publicKey]);
        module.C_CreateObject(session, [
          ...common,
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
          { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
          // SoftHSM insists on CKA_SUBJECT for an X.509 certificate object.
          { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(parsed.certificate.subjectName) },
          { type: pkcs11js.CKA_VALUE, value: Buffer.from(item.certificateDer) },
        ]);
      } finally {
        module.C_Logout(session);
      }
    } finally {
      module.C_CloseSession(session);
    }
  } catch (err) {
    if (err instanceof SoftHsmError) throw err;
    throw new SoftHsmError(`importing into token ${token.label} failed: ${(err as Error).message}`);
  } finally {
    module.C_Finalize();
  }
}

function keyTemplates(privateKey: KeyObject): {
  privateKey: pkcs11js.Template;
  publicKey: pkcs11js.Template;
} {
  const isRsa = privateKey.asymmetricKeyType === 'rsa';
  const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? '';
  const params = EC_PARAMS[curve];
  if (!isRsa && (privateKey.asymmetricKeyType !== 'ec' || !params)) {
    throw new SoftHsmError(
      curve === 'SM2'
        ? 'SoftHSM2 has no SM2: use the PKCS#12 file (--p12) or a vendor token for SM2 certificates'
        : `SoftHSM2 import supports RSA and ECDSA P-256/P-384 keys, not ${privateKey.asymmetricKeyType} ${curve}`,
    );
  }
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (value: string | undefined) => Buffer.from(value ?? '', 'base64url');
  const privateCommon = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
  ];
  const publicCommon = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_VERIFY, value: true },
  ];
  if (isRsa) {
    const rsa = [
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
      { type: pkcs11js.CKA_MODULUS, value: b(jwk.n) },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
    ];
    return {
      privateKey: [
        ...privateCommon,
        ...rsa,
        { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
        { type: pkcs11js.CKA_PRIME_1, value: b(jwk.p) },
        { type: pkcs11js.CKA_PRIME_2, value: b(jwk.q) },
        { type: pkcs11js.CKA_EXPONENT_1, value: b(jwk.dp) },
        { type: pkcs11js.CKA_EXPONENT_2, value: b(jwk.dq) },
        { type: pkcs11js.CKA_COEFFICIENT, value: b(jwk.qi) },
      ],
      publicKey: [...publicCommon, ...rsa],
    };
  }
  if (!params) throw new SoftHsmError('unreachable: EC parameters checked above');
  const x = b(jwk.x);
  const y = b(jwk.y);
  const point = Buffer.concat([Buffer.from([0x04]), x, y]);
  const ec = [
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_EC_PARAMS, value: params },
  ];
  return {
    privateKey: [...privateCommon, ...ec, { type: pkcs11js.CKA_VALUE, value: b(jwk.d) }],
    // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point (short form: under 128 bytes).
    publicKey: [
      ...publicCommon,
      ...ec,
      { type: pkcs11js.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, point.length]), point]) },
    ],
  };
}
