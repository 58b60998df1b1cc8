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

/**
 * A SoftHSM2 token in a directory of its own (development and tests): the configuration file is
 * written there and SOFTHSM2_CONF points at it for this process and the tools it runs.
 */
export function prepareSoftHsm(dir: string, token: { label: string; pin: string; soPin: string }): void {
  mkdirSync(path.join(dir, 'tokens'), { recursive: true });
  const conf = path.join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env['SOFTHSM2_CONF'] = conf;
  const existing = execFileSync('softhsm2-util', ['--show-slots'], { encoding: 'utf8' });
  if (!existing.includes(`Label:            ${token.label}`)) {
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', token.label, '--pin', token.pin, '--so-pin', token.soPin],
      {
        stdio: 'ignore',
      },
    );
  }
}

/** Puts a private key (via softhsm2-util) and its certificate (via PKCS#11) on the token under one CKA_ID. */
export function importIntoSoftHsm(
  dir: string,
  token: { label: string; pin: string },
  item: { id: string; label: string; privateKey: KeyObject; certificateDer: Uint8Array },
): void {
  const keyFile = path.join(dir, `${item.id}.key.pem`);
  writeFileSync(keyFile, item.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  execFileSync(
    'softhsm2-util',
    ['--import', keyFile, '--token', token.label, '--label', item.label, '--id', item.id, '--pin', token.pin],
    { stdio: 'ignore' },
  );
  const parsed = parseCertificate(item.certificateDer);
  if (!parsed.ok) throw new Error(`not a certificate: ${parsed.detail}`);
  // SoftHSM insists on CKA_SUBJECT for an X.509 certificate object.
  const subject = parsed.certificate.subjectName;
  const module = new pkcs11js.PKCS11();
  module.load(SOFTHSM_MODULE);
  module.C_Initialize();
  try {
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new Error(`no SoftHSM token labelled ${token.label}`);
    const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    module.C_Login(session, pkcs11js.CKU_USER, token.pin);
    module.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_ID, value: Buffer.from(item.id, 'hex') },
      { type: pkcs11js.CKA_LABEL, value: item.label },
      { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(subject) },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from(item.certificateDer) },
    ]);
    module.C_Logout(session);
    module.C_CloseSession(session);
  } finally {
    module.C_Finalize();
  }
}
