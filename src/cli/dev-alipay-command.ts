import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import type { DevAlipayCertificates } from '../outside/alipay/dev-certificates.js';
import { DEV_ALIPAY_USERS, startDevAlipay } from '../outside/alipay/dev-server.js';
import { publicKeyBase64 } from '../outside/alipay/keys.js';
import { cliEnv } from './io.js';

/** Kept in DATA_DIR so that a restarted fake Alipay matches the settings npm start already has. */
interface DevAlipayKeys {
  appId: string;
  /** The app's private key (应用私钥), PKCS#8 DER in base64, as Alipay's key tool prints it. */
  appPrivateKey: string;
  /** The fake Alipay's own signing key, PKCS#8 DER in base64. */
  alipayPrivateKey: string;
  /** Issued on the first start in certificate mode, then kept like the keys. */
  certificates?: DevAlipayCertificates;
}

const DEV_APP_ID = '9021000000000001';

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'der' }).toString('base64');
}

function loadOrCreateKeys(file: string): DevAlipayKeys {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevAlipayKeys;
  } catch {
    const generate = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const keys = { appId: DEV_APP_ID, appPrivateKey: pkcs8(generate()), alipayPrivateKey: pkcs8(generate()) };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    return keys;
  }
}

const der = (base64: string) =>
  createPrivateKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'pkcs8' });

/**
 * `unified-id dev-alipay`: the fake Alipay (authorisation page with test users, and the gateway)
 * for development, with the app's and its own key pair kept in DATA_DIR. It prints the ALIPAY_*
 * settings that point `npm start` at it and writes them to DATA_DIR/dev-alipay.env.
 */
export function registerDevAlipay(program: Command) {
  program
    .command('dev-alipay')
    .description(
      'a fake Alipay for development (authorisation page and gateway); prints the ALIPAY_* settings',
    )
    .option('--port <port>', 'port to listen on', '41444')
    .option('--host <host>', 'address to listen on (loopback: not reachable from the network)', '127.0.0.1')
    .option('--open-id', 'identify users by open_id, as newer Alipay apps get, instead of user_id', false)
    .option(
      '--certificate',
      'public-key-certificate mode (公钥证书模式): prints ALIPAY_APP_CERT, ALIPAY_PUBLIC_CERT and ALIPAY_ROOT_CERT instead of ALIPAY_PUBLIC_KEY',
      false,
    )
    .action(async (o: { port: string; host: string; openId: boolean; certificate: boolean }) => {
      const config = loadConfig(cliEnv());
      if (config.env === 'production') {
        throw new ConfigError('dev-alipay is a development implementation and is refused in production');
      }
      const keysFile = path.join(config.dataDir, 'dev-alipay.json');
      const keys = loadOrCreateKeys(keysFile);
      const appPrivateKey = der(keys.appPrivateKey);
      const alipay = await startDevAlipay({
        port: Number(o.port),
        host: o.host,
        appId: keys.appId,
        appPublicKey: createPublicKey(appPrivateKey),
        alipayPrivateKey: der(keys.alipayPrivateKey),
        identity: o.openId ? 'open_id' : 'user_id',
        keyMode: o.certificate ? 'certificate' : 'public-key',
        ...(keys.certificates ? { certificates: keys.certificates } : {}),
      });
      const certificates = alipay.certificates;
      if (certificates && !keys.certificates) {
        writeFileSync(keysFile, JSON.stringify({ ...keys, certificates }, null, 2), { mode: 0o600 });
      }
      // PEM on one line with literal \n, single-quoted so that `.` in a shell keeps the backslashes.
      const oneLine = (pem: string) => `'${pem.trim().replaceAll('\n', '\\n')}'`;
      const settings = [
        `ALIPAY_GATEWAY=${alipay.gatewayUrl}`,
        `ALIPAY_AUTHORIZE_URL=${alipay.authorizeUrl}`,
        `ALIPAY_APP_ID=${keys.appId}`,
        `ALIPAY_PRIVATE_KEY=${keys.appPrivateKey}`,
        ...(certificates
          ? [
              `ALIPAY_APP_CERT=${oneLine(certificates.appCert)}`,
              `ALIPAY_PUBLIC_CERT=${oneLine(certificates.alipayPublicCert)}`,
              `ALIPAY_ROOT_CERT=${oneLine(certificates.alipayRootCert)}`,
            ]
          : [`ALIPAY_PUBLIC_KEY=${publicKeyBase64(alipay.alipayPublicKey)}`]),
      ];
      const envFile = path.join(config.dataDir, 'dev-alipay.env');
      writeFileSync(envFile, `${settings.join('\n')}\n`, { mode: 0o600 });
      const shown = path.relative(process.cwd(), envFile);
      process.stderr.write(
        [
          `模拟支付宝（开发环境）listening on ${alipay.url}`,
          `Start the provider with these settings (also in ${envFile}):`,
          `  set -a; . ${shown.startsWith('..') ? envFile : shown}; set +a; npm start`,
          '',
        ].join('\n'),
      );
      process.stdout.write(`${settings.join('\n')}\n`);
      process.stderr.write(
        `\n测试用户:\n${DEV_ALIPAY_USERS.map((u) => `  ${u.userName ?? u.nickName} (${u.userId}): ${u.description}`).join('\n')}\n`,
      );
      const stop = () => alipay.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
