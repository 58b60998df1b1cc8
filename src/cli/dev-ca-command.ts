import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { parseCertificate } from '../pki/certificate.js';
import {
  createCrl,
  createDevCa,
  type DevAlgorithm,
  type DevCa,
  issueEnterpriseCertificate,
  privateKeyToPem,
  toPkcs12,
} from '../pki/dev-ca.js';

const ALGORITHMS: DevAlgorithm[] = ['RSA', 'ECDSA-P256', 'ECDSA-P384', 'SM2'];

function devDir() {
  const config = loadConfig();
  if (!config.devMode)
    throw new Error('dev-ca is for development: the development CA is never trusted in production');
  return { dir: path.join(config.certsDir, 'dev'), dataDir: config.dataDir };
}

function caFiles(dir: string, algorithm: DevAlgorithm) {
  const name = algorithm.toLowerCase();
  return { cert: path.join(dir, `dev-ca-${name}.pem`), key: path.join(dir, `dev-ca-${name}.key`) };
}

function loadCa(dir: string, algorithm: DevAlgorithm): DevCa {
  const files = caFiles(dir, algorithm);
  if (!existsSync(files.cert))
    throw new Error(
      `no ${algorithm} development CA: run "unified-id dev-ca init --algorithm ${algorithm}" first`,
    );
  const certificatePem = readFileSync(files.cert, 'utf8');
  const parsed = parseCertificate(certificatePem);
  if (!parsed.ok) throw new Error(`${files.cert}: ${parsed.detail}`);
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

/** `unified-id dev-ca`: a development CA in certs/dev/, enterprise certificates, PKCS#12, SoftHSM2, CRLs. */
export function registerDevCa(program: Command) {
  const devCa = program
    .command('dev-ca')
    .description('development CA in certs/dev/ (never trusted in production)');

  devCa
    .command('init')
    .option('--algorithm <algorithm>', ALGORITHMS.join('|'), 'RSA')
    .action(async (o: { algorithm: DevAlgorithm }) => {
      const { dir } = devDir();
      const files = caFiles(dir, o.algorithm);
      if (existsSync(files.cert)) throw new Error(`${files.cert} exists; remove it to make a new CA`);
      mkdirSync(dir, { recursive: true });
      const ca = await createDevCa({ algorithm: o.algorithm });
      writeFileSync(files.cert, ca.certificatePem);
      writeFileSync(files.key, privateKeyToPem(ca.privateKey), { mode: 0o600 });
      console.log(`development CA written: ${files.cert} (restart the server to trust it)`);
    });

  devCa
    .command('issue')
    .requiredOption('--credit-code <code>', 'the enterprise’s 统一社会信用代码')
    .requiredOption('--org <name>', 'the enterprise’s name')
    .option('--algorithm <algorithm>', ALGORITHMS.join('|'), 'RSA')
    .option('--ca-algorithm <algorithm>', 'the CA to issue with', 'RSA')
    .option('--p12 <file>', 'write a PKCS#12 file')
    .option('--password <password>', 'PKCS#12 password', 'changeit')
    .option('--softhsm', 'put the key and certificate on a SoftHSM2 token', false)
    .option('--token-label <label>', 'SoftHSM2 token label', 'uid-dev')
    .option('--pin <pin>', 'SoftHSM2 user PIN', '123456')
    .option('--so-pin <pin>', 'SoftHSM2 SO PIN', '12345678')
    .option('--id <hex>', 'CKA_ID for the key and certificate', '01')
    .action(async (o) => {
      const { dir, dataDir } = devDir();
      const ca = loadCa(dir, o.caAlgorithm);
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode: o.creditCode,
        orgName: o.org,
        algorithm: o.algorithm,
      });
      const certFile = path.join(dir, 'issued', `${o.creditCode}-${issued.serialNumberHex}.pem`);
      mkdirSync(path.dirname(certFile), { recursive: true });
      writeFileSync(certFile, issued.certificatePem);
      console.log(`certificate: ${certFile}`);
      if (o.p12) {
        writeFileSync(
          o.p12,
          await toPkcs12(issued.certificateDer, issued.privateKey, [ca.certificateDer], o.password),
        );
        console.log(`PKCS#12: ${o.p12} (password ${o.password})`);
      }
      if (o.softhsm) {
        // Loaded only here: the rest of the CLI does not need the native PKCS#11 module.
        const { importIntoSoftHsm, prepareSoftHsm } = await import('../bridge/softhsm.js');
        const hsmDir = path.join(dataDir, 'softhsm');
        prepareSoftHsm(hsmDir, { label: o.tokenLabel, pin: o.pin, soPin: o.soPin });
        importIntoSoftHsm(
          hsmDir,
          { label: o.tokenLabel, pin: o.pin },
          {
            id: o.id,
            label: `${o.org} ${o.algorithm}`,
            privateKey: issued.privateKey,
            certificateDer: issued.certificateDer,
          },
        );
        console.log(
          `on SoftHSM2 token "${o.tokenLabel}" (PIN ${o.pin}); run the bridge with:\n` +
            `  SOFTHSM2_CONF=${path.join(hsmDir, 'softhsm2.conf')} npx unified-id bridge --module /usr/lib/softhsm/libsofthsm2.so`,
        );
      }
    });

  devCa
    .command('crl')
    .option('--ca-algorithm <algorithm>', 'the CA whose CRL to write', 'RSA')
    .option('--revoke <serial...>', 'serial numbers (hex) to revoke', [])
    .action(async (o: { caAlgorithm: DevAlgorithm; revoke: string[] }) => {
      const { dir } = devDir();
      const ca = loadCa(dir, o.caAlgorithm);
      const now = Date.now();
      const crl = createCrl(ca, o.revoke, {
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 7 * 86_400_000),
      });
      mkdirSync(path.join(dir, 'crl'), { recursive: true });
      const file = path.join(dir, 'crl', `dev-ca-${o.caAlgorithm.toLowerCase()}.crl`);
      writeFileSync(file, crl.pem);
      console.log(`CRL written: ${file} (${o.revoke.length} revoked; restart the server to load it)`);
    });
}
