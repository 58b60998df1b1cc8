import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import type { DevAlgorithm } from '../pki/dev-ca.js';
import {
  DEV_ALGORITHMS,
  DevCaError,
  devCaDir,
  initDevCa,
  issueDevCertificate,
  parseDevAlgorithm,
  tryItLocally,
  writeDevCrl,
} from './dev-ca-actions.js';
import { cliConsole, cliEnv, failWith } from './io.js';

function devSettings() {
  const config = loadConfig(cliEnv());
  if (!config.devMode)
    throw new DevCaError('dev-ca is for development: the development CA is never trusted in production');
  return { dir: devCaDir(config.certsDir), dataDir: config.dataDir, issuer: config.issuer };
}

/** Refusals print one line, not a stack: they are the developer's to fix, not bugs. */
function run<A extends unknown[]>(action: (...args: A) => Promise<void> | void) {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof DevCaError) && (err as Error).name !== 'SoftHsmError') throw err;
      cliConsole().error(`unified-id dev-ca: ${(err as Error).message}`);
      failWith(1);
    }
  };
}

/** `unified-id dev-ca`: a development CA in certs/dev/, enterprise certificates, PKCS#12, SoftHSM2, CRLs. */
export function registerDevCa(program: Command) {
  const devCa = program
    .command('dev-ca')
    .description('development CA in certs/dev/ (gitignored; never trusted in production)');
  const algorithmHelp = DEV_ALGORITHMS.join('|');

  devCa
    .command('init')
    .description('create a development CA (refuses to replace one)')
    .option('--algorithm <algorithm>', algorithmHelp, parseDevAlgorithm, 'RSA' as DevAlgorithm)
    .action(
      run(async (o: { algorithm: DevAlgorithm }) => {
        const { dir } = devSettings();
        const written = await initDevCa({ dir, algorithm: o.algorithm });
        cliConsole().log(`development CA "${written.subject}" (${o.algorithm}):`);
        cliConsole().log(`  certificate: ${written.certificateFile}`);
        cliConsole().log(`  private key: ${written.keyFile}`);
        cliConsole().log('restart the server to trust it (outside production only)');
      }),
    );

  devCa
    .command('issue')
    .description('issue an enterprise certificate as PKCS#12 and/or onto a SoftHSM2 token')
    .requiredOption('--credit-code <code>', 'the enterprise’s 统一社会信用代码 (in the subject serialNumber)')
    .requiredOption('--org <name>', 'the enterprise’s name')
    .option('--algorithm <algorithm>', algorithmHelp, parseDevAlgorithm, 'RSA' as DevAlgorithm)
    .option(
      '--ca-algorithm <algorithm>',
      'the CA to issue with (default: one of the same algorithm)',
      parseDevAlgorithm,
    )
    .option('--p12 <file>', 'write a PKCS#12 file')
    .option('--password <password>', 'PKCS#12 password', 'changeit')
    .option('--softhsm', 'put the key and certificate on a SoftHSM2 token (not SM2)', false)
    .option('--token-label <label>', 'SoftHSM2 token label', 'uid-dev')
    .option('--pin <pin>', 'SoftHSM2 user PIN', '123456')
    .option('--so-pin <pin>', 'SoftHSM2 SO PIN', '12345678')
    .option('--id <hex>', 'CKA_ID for the key and certificate (default: the serial number)')
    .action(
      run(
        async (o: {
          creditCode: string;
          org: string;
          algorithm: DevAlgorithm;
          caAlgorithm?: DevAlgorithm;
          p12?: string;
          password: string;
          softhsm: boolean;
          tokenLabel: string;
          pin: string;
          soPin: string;
          id?: string;
        }) => {
          const { dir, dataDir, issuer } = devSettings();
          if (!o.p12 && !o.softhsm)
            cliConsole().log('(neither --p12 nor --softhsm: only the certificate is written)');
          const envConf = cliEnv()['SOFTHSM2_CONF'];
          const result = await issueDevCertificate({
            dir,
            creditCode: o.creditCode,
            org: o.org,
            algorithm: o.algorithm,
            ...(o.caAlgorithm ? { caAlgorithm: o.caAlgorithm } : {}),
            ...(o.p12 ? { p12: { file: path.resolve(o.p12), password: o.password } } : {}),
            ...(o.softhsm
              ? {
                  softhsm: {
                    tokenLabel: o.tokenLabel,
                    pin: o.pin,
                    soPin: o.soPin,
                    dir: path.join(dataDir, 'softhsm'),
                    ...(o.id ? { id: o.id } : {}),
                    // The developer's own SoftHSM2 setup wins over ours under DATA_DIR.
                    ...(envConf && existsSync(envConf) ? { conf: envConf } : {}),
                  },
                }
              : {}),
          });
          cliConsole().log(
            `certificate: ${result.certificateFile} (serial ${result.serialNumberHex}, ${result.caAlgorithm} CA)`,
          );
          if (result.p12File) cliConsole().log(`PKCS#12: ${result.p12File} (password ${o.password})`);
          if (result.p12CertificateFile)
            cliConsole().log(
              `certificate in the PKCS#12 file (a software key, amr swk): ${result.p12CertificateFile}`,
            );
          if (result.softhsm)
            cliConsole().log(
              `SoftHSM2: token "${result.softhsm.tokenLabel}" (PIN ${o.pin}), CKA_ID ${result.softhsm.id}, config ${result.softhsm.conf}`,
            );
          cliConsole().log(tryItLocally(result, { creditCode: o.creditCode, issuer, password: o.password }));
        },
      ),
    );

  devCa
    .command('crl')
    .description('write the CA’s CRL to certs/dev/crl/')
    .option(
      '--ca-algorithm <algorithm>',
      'the CA whose CRL to write',
      parseDevAlgorithm,
      'RSA' as DevAlgorithm,
    )
    .option('--revoke <serial...>', 'serial numbers (hex) to revoke', [])
    .action(
      run((o: { caAlgorithm: DevAlgorithm; revoke: string[] }) => {
        const { dir } = devSettings();
        const written = writeDevCrl({ dir, caAlgorithm: o.caAlgorithm, revoke: o.revoke });
        cliConsole().log(
          `CRL written: ${written.file} (${written.revoked} revoked; restart the server to load it)`,
        );
      }),
    );
}
