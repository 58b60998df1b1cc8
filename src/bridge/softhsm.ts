import { execFileSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCertificate } from '../pki/certificate.js';
import {
  type Attribute,
  CKA,
  CKC_X_509,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKK_EC,
  CKK_RSA,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  Pkcs11Module,
} from './pkcs11-ffi.js';

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
    { type: CKA.TOKEN, value: true },
    { type: CKA.ID, value: id },
    { type: CKA.LABEL, value: item.label },
  ];

  const module = Pkcs11Module.open(SOFTHSM_MODULE);
  try {
    const slot = module.getSlotList(true).find((s) => module.getTokenInfo(s).label === token.label);
    if (slot === undefined) throw new SoftHsmError(`no SoftHSM2 token labelled ${token.label}`);
    const session = module.openSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    try {
      module.login(session, token.pin);
      try {
        // The bridge picks the private key by CKA_ID: two keys under one id would sign with either.
        if (module.findObjects(session, [{ type: CKA.ID, value: id }]).length)
          throw new SoftHsmError(
            `CKA_ID ${item.id} is already used on token ${token.label}; choose another --id`,
          );
        module.createObject(session, [...common, ...keyObjects.privateKey]);
        module.createObject(session, [...common, ...keyObjects.publicKey]);
        module.createObject(session, [
          ...common,
          { type: CKA.CLASS, value: CKO_CERTIFICATE },
          { type: CKA.CERTIFICATE_TYPE, value: CKC_X_509 },
          // SoftHSM insists on CKA_SUBJECT for an X.509 certificate object.
          { type: CKA.SUBJECT, value: Buffer.from(parsed.certificate.subjectName) },
          { type: CKA.VALUE, value: Buffer.from(item.certificateDer) },
        ]);
      } finally {
        module.logout(session);
      }
    } finally {
      module.closeSession(session);
    }
  } catch (err) {
    if (err instanceof SoftHsmError) throw err;
    throw new SoftHsmError(`importing into token ${token.label} failed: ${(err as Error).message}`);
  } finally {
    module.close();
  }
}

function keyTemplates(privateKey: KeyObject): {
  privateKey: Attribute[];
  publicKey: Attribute[];
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
    { type: CKA.CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.EXTRACTABLE, value: false },
    { type: CKA.SIGN, value: true },
  ];
  const publicCommon = [
    { type: CKA.CLASS, value: CKO_PUBLIC_KEY },
    { type: CKA.PRIVATE, value: false },
    { type: CKA.VERIFY, value: true },
  ];
  if (isRsa) {
    const rsa = [
      { type: CKA.KEY_TYPE, value: CKK_RSA },
      { type: CKA.MODULUS, value: b(jwk.n) },
      { type: CKA.PUBLIC_EXPONENT, value: b(jwk.e) },
    ];
    return {
      privateKey: [
        ...privateCommon,
        ...rsa,
        { type: CKA.PRIVATE_EXPONENT, value: b(jwk.d) },
        { type: CKA.PRIME_1, value: b(jwk.p) },
        { type: CKA.PRIME_2, value: b(jwk.q) },
        { type: CKA.EXPONENT_1, value: b(jwk.dp) },
        { type: CKA.EXPONENT_2, value: b(jwk.dq) },
        { type: CKA.COEFFICIENT, value: b(jwk.qi) },
      ],
      publicKey: [...publicCommon, ...rsa],
    };
  }
  if (!params) throw new SoftHsmError('unreachable: EC parameters checked above');
  const x = b(jwk.x);
  const y = b(jwk.y);
  const point = Buffer.concat([Buffer.from([0x04]), x, y]);
  const ec = [
    { type: CKA.KEY_TYPE, value: CKK_EC },
    { type: CKA.EC_PARAMS, value: params },
  ];
  return {
    privateKey: [...privateCommon, ...ec, { type: CKA.VALUE, value: b(jwk.d) }],
    // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point (short form: under 128 bytes).
    publicKey: [
      ...publicCommon,
      ...ec,
      { type: CKA.EC_POINT, value: Buffer.concat([Buffer.from([0x04, point.length]), point]) },
    ],
  };
}
