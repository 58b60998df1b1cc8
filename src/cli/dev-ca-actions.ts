import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCreditCode } from '../identifiers/credit-code.js';
import { parseCertificate } from '../pki/certificate.js';
import {
  createCrl,
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  type DevAlgorithm,
  type DevCa,
  issueEnterpriseCertificate,
  privateKeyToPem,
  toPkcs12,
} from '../pki/dev-ca.js';

// What `unified-id dev-ca` does, as functions over explicit directories: the command only reads
// the configuration and prints, and tests call these on a temporary certs directory.

export const DEV_ALGORITHMS: readonly DevAlgorithm[] = ['RSA', 'ECDSA-P256', 'ECDSA-P384', 'SM2'];

/** A dev-ca step refused or failed; the message is for the developer at the terminal. */
export class DevCaError extends Error {
  override name = 'DevCaError';
}

export function parseDevAlgorithm(value: string): DevAlgorithm {
  const found = DEV_ALGORITHMS.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!found) throw new DevCaError(`unknown algorithm "${value}": one of ${DEV_ALGORITHMS.join(', ')}`);
  return found;
}

/** `certs/dev/`: the layout the trust store reads when the development CA is allowed. */
export function devCaDir(certsDir: string): string {
  return path.join(certsDir, 'dev');
}

export function devCaFiles(dir: string, algorithm: DevAlgorithm) {
  const name = algorithm.toLowerCase();
  return { cert: path.join(dir, `dev-ca-${name}.pem`), key: path.join(dir, `dev-ca-${name}.key`) };
}

export interface InitResult {
  certificateFile: string;
  keyFile: string;
  subject: string;
}

/** Makes a development CA; refuses to replace one, since certificates already issued chain to it. */
export async function initDevCa(options: { dir: string; algorithm: DevAlgorithm }): Promise<InitResult> {
  const files = devCaFiles(options.dir, options.algorithm);
  if (existsSync(files.cert) || existsSync(files.key))
    throw new DevCaError(
      `${files.cert} exists; remove it (and its .key) to make a new ${options.algorithm} CA`,
    );
  mkdirSync(options.dir, { recursive: true });
  const ca = await createDevCa({ algorithm: options.algorithm });
  writeFileSync(files.key, privateKeyToPem(ca.privateKey), { mode: 0o600, flag: 'wx' });
  writeFileSync(files.cert, ca.certificatePem, { flag: 'wx' });
  return { certificateFile: files.cert, keyFile: files.key, subject: ca.commonName };
}

export function loadDevCa(dir: string, algorithm: DevAlgorithm): DevCa {
  const files = devCaFiles(dir, algorithm);
  if (!existsSync(files.cert) || !existsSync(files.key))
    throw new DevCaError(
      `no ${algorithm} development CA in ${dir}: run "unified-id dev-ca init --algorithm ${algorithm}"`,
    );
  const certificatePem = readFileSync(files.cert, 'utf8');
  const parsed = parseCertificate(certificatePem);
  if (!parsed.ok) throw new DevCaError(`${files.cert}: ${parsed.detail}`);
  const privateKey = createPrivateKey(readFileSync(files.key, 'utf8'));
  return {
    algorithm,
    commonName: parsed.certificate.subject,
    certificateDer: parsed.certificate.der,
    certificatePem,
    privateKey,
    publicKey: createPublicKey(privateKey),
  };
}

/** The CA to issue with: the one asked for, else one of the certificate's algorithm, else any there is. */
export function chooseDevCa(
  dir: string,
  wanted: DevAlgorithm | undefined,
  algorithm: DevAlgorithm,
): DevAlgorithm {
  if (wanted) return wanted;
  const present = DEV_ALGORITHMS.filter((a) => existsSync(devCaFiles(dir, a).cert));
  const chosen = present.includes(algorithm) ? algorithm : present[0];
  if (!chosen) throw new DevCaError(`no development CA in ${dir}: run "unified-id dev-ca init" first`);
  return chosen;
}

export interface SoftHsmTarget {
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** CKA_ID in hex; by default the certificate's serial number, so that each issue gets its own. */
  id?: string;
  /** Where the token lives when SOFTHSM2_CONF is not set: a directory under DATA_DIR. */
  dir: string;
  /** An existing SoftHSM2 configuration to use instead (the developer's SOFTHSM2_CONF). */
  conf?: string;
}

export interface IssueOptions {
  dir: string;
  creditCode: string;
  org: string;
  algorithm: DevAlgorithm;
  caAlgorithm?: DevAlgorithm;
  p12?: { file: string; password: string };
  softhsm?: SoftHsmTarget;
}

export interface IssueResult {
  certificateFile: string;
  serialNumberHex: string;
  caAlgorithm: DevAlgorithm;
  p12File?: string;
  /** With both --p12 and --softhsm: the file's own (unmarked) certificate. */
  p12CertificateFile?: string;
  softhsm?: { conf: string; tokenLabel: string; id: string };
}

export async function issueDevCertificate(options: IssueOptions): Promise<IssueResult> {
  // A code that registration would refuse makes a certificate that can never be bound.
  const code = parseCreditCode(options.creditCode);
  if (!code.ok) throw new DevCaError(`"${options.creditCode}": ${code.message}`);
  const creditCode = code.creditCode;
  if (options.softhsm && options.algorithm === 'SM2')
    throw new DevCaError('SoftHSM2 has no SM2 mechanism: issue SM2 certificates as PKCS#12 (--p12) only');
  const caAlgorithm = chooseDevCa(options.dir, options.caAlgorithm, options.algorithm);
  const ca = loadDevCa(options.dir, caAlgorithm);
  // A certificate on the token carries the development hardware policy (amr hwk, as a CA marks
  // those it issues on USB keys); a PKCS#12 file gets its own certificate and key, unmarked (swk).
  const issue = async (policies: string[]) => {
    const issued = await issueEnterpriseCertificate(ca, {
      creditCode,
      orgName: options.org,
      algorithm: options.algorithm,
      policies,
    });
    const file = path.join(options.dir, 'issued', `${creditCode}-${issued.serialNumberHex}.pem`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, issued.certificatePem);
    return { issued, file };
  };
  const onToken = options.softhsm ? await issue([DEV_HARDWARE_POLICY_OID]) : undefined;
  const inFile = options.p12 || !onToken ? await issue([]) : undefined;
  const main = (onToken ?? inFile)!;
  const result: IssueResult = {
    certificateFile: main.file,
    serialNumberHex: main.issued.serialNumberHex,
    caAlgorithm,
  };

  if (options.p12 && inFile) {
    if (onToken) result.p12CertificateFile = inFile.file;
    const p12 = await toPkcs12(
      inFile.issued.certificateDer,
      inFile.issued.privateKey,
      [ca.certificateDer],
      options.p12.password,
    );
    writeFileSync(options.p12.file, p12, { mode: 0o600 });
    result.p12File = options.p12.file;
  }
  if (options.softhsm && onToken) {
    const { issued } = onToken;
    const target = options.softhsm;
    // Loaded only here: the rest of the CLI does not need the native PKCS#11 module.
    const { importIntoSoftHsm, prepareSoftHsm } = await import('../bridge/softhsm.js');
    const conf = prepareSoftHsm(
      target.dir,
      { label: target.tokenLabel, pin: target.pin, soPin: target.soPin },
      target.conf,
    );
    const id = target.id ?? issued.serialNumberHex.toLowerCase();
    importIntoSoftHsm(
      { label: target.tokenLabel, pin: target.pin },
      {
        id,
        label: `${options.org} ${options.algorithm}`,
        privateKey: issued.privateKey,
        certificateDer: issued.certificateDer,
      },
    );
    result.softhsm = { conf, tokenLabel: target.tokenLabel, id };
  }
  return result;
}

export interface CrlResult {
  file: string;
  revoked: number;
}

/** A CRL of the development CA, valid for a week, in `certs/dev/crl/` where the trust store finds it. */
export function writeDevCrl(options: {
  dir: string;
  caAlgorithm: DevAlgorithm;
  revoke: readonly string[];
}): CrlResult {
  const ca = loadDevCa(options.dir, options.caAlgorithm);
  for (const serial of options.revoke)
    if (!/^[0-9a-f]+$/i.test(serial)) throw new DevCaError(`serial numbers are hex: "${serial}"`);
  const now = Date.now();
  const crl = createCrl(ca, options.revoke, {
    thisUpdate: new Date(now - 60_000),
    nextUpdate: new Date(now + 7 * 86_400_000),
  });
  const file = path.join(options.dir, 'crl', `dev-ca-${options.caAlgorithm.toLowerCase()}.crl`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, crl.pem);
  return { file, revoked: options.revoke.length };
}

/** The steps that follow an issue, printed for the developer. */
export function tryItLocally(
  result: IssueResult,
  options: { creditCode: string; issuer: string; password?: string },
) {
  const lines = [
    '',
    'Try certificate login locally:',
    '  1. npm start   (restart it if running: the development CA is trusted outside production only)',
  ];
  if (result.softhsm) {
    lines.push(
      `  2. SOFTHSM2_CONF=${result.softhsm.conf} npx unified-id bridge --module /usr/lib/softhsm/libsofthsm2.so --origin ${options.issuer}`,
      `     (token "${result.softhsm.tokenLabel}", certificate CKA_ID ${result.softhsm.id}; the page asks for the PIN)`,
    );
  } else if (result.p12File) {
    lines.push(
      `  2. in the page choose the software certificate and open ${result.p12File} (password ${options.password ?? ''})`,
    );
  }
  lines.push(
    `  3. at ${options.issuer} register the 法人 with 统一社会信用代码 ${options.creditCode}, bind the certificate (绑定证书),`,
    '     sign out, then 证书登录 → 选择证书 → 数字证书登录',
  );
  return lines.join('\n');
}
