import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importIntoSoftHsm, prepareSoftHsm, softHsmAvailable } from '../../src/bridge/softhsm.js';
import { createCrl, createDevCa, issueEnterpriseCertificate } from '../../src/pki/dev-ca.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import type { DevAlgorithm } from '../../src/pki/x509-builder.js';
import {
  bindThenSignInWithCertificate,
  chromiumAvailable,
  enterpriseLoginUrl,
  freshSession,
  launchChromium,
  pageErrorsOf,
  startDemoServer,
} from '../support/browser.js';
import { outputUntil, stop } from '../support/cli.js';
import { addEnterprise } from '../support/enterprise.js';
import { builtHelper } from '../support/helper-build.js';
import { freePort, type TestServer } from '../support/server.js';
import { gccAvailable, prepareSoftSkf, softSkfLibrary } from '../support/skf-soft.js';

const TOKEN = { label: 'uid-packaged-helper', pin: '246810', soPin: '13579111' };
const PASSWORD = 'Ci-Tong#2025';

/**
 * A clerk's key of each kind the CAs ship: RSA and P-256 keys behind a PKCS#11 module (SoftHSM2,
 * which the helper finds by itself in Debian's place), and an SM2 key behind an SKF library (the
 * software SKF token, named in the helper's configuration file as IT would name a CA's library
 * that is not in the table: a test library can not live in a vendor's folder).
 */
const KEYS: { algorithm: DevAlgorithm; org: string; through: 'pkcs11' | 'skf' }[] = [
  { algorithm: 'RSA', org: '泉州刺桐示范有限公司', through: 'pkcs11' },
  { algorithm: 'ECDSA-P256', org: '漳州月港示范有限公司', through: 'pkcs11' },
  { algorithm: 'SM2', org: '莆田木兰示范有限公司', through: 'skf' },
];

/**
 * One Chromium and one page for the three keys, the page started afresh (no cookies) by each: a
 * launch and a browser context cost Chromium a CPU second or more each. Each key's server is an
 * origin of its own.
 */
let browserOfFile: Promise<Browser> | undefined;
let pageOfFile: Promise<Page> | undefined;
function pageOfTheFile(): Promise<Page> {
  browserOfFile ??= launchChromium();
  pageOfFile ??= browserOfFile.then((browser) => browser.newPage());
  return pageOfFile;
}
afterAll(async () => {
  await (await browserOfFile)?.close();
});

describe.skipIf(!chromiumAvailable() || !softHsmAvailable() || !gccAvailable()).each(KEYS)(
  'an enterprise signs in through the packaged 证书助手 (the single executable, no Node.js) with a $algorithm key',
  ({ algorithm, org: ORG, through }) => {
    let server: TestServer;
    let helper: ChildProcessByStdio<null, Readable, Readable>;
    let dir: string;
    const creditCode = randomCreditCode();

    beforeAll(async () => {
      const { executable } = await builtHelper();
      dir = mkdtempSync(path.join(tmpdir(), 'uid-packaged-'));
      const ca = await createDevCa({ algorithm, commonName: '示范数字认证中心' });
      writeFileSync(path.join(dir, 'dev-ca.pem'), ca.certificatePem);
      mkdirSync(path.join(dir, 'crl'));
      const now = Date.now();
      writeFileSync(
        path.join(dir, 'crl', 'dev-ca.crl'),
        createCrl(ca, [], { thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86_400_000) }).pem,
      );
      const issued = await issueEnterpriseCertificate(ca, { creditCode, orgName: ORG, algorithm });
      const env: Record<string, string> = {};
      const args: string[] = [];
      if (through === 'pkcs11') {
        env['SOFTHSM2_CONF'] = prepareSoftHsm(path.join(dir, 'hsm'), TOKEN);
        importIntoSoftHsm(TOKEN, {
          id: '0c',
          label: 'ent',
          privateKey: issued.privateKey,
          certificateDer: issued.certificateDer,
        });
      } else {
        const soft = prepareSoftSkf({
          pin: TOKEN.pin,
          containers: [
            { name: 'SignContainer', privateKey: issued.privateKey, certificateDer: issued.certificateDer },
          ],
        });
        env['SKF_SOFT_DIR'] = soft.dir;
      }
      const port = await freePort();
      server = await startDemoServer({ CERTS_DIR: dir, CERT_BRIDGE_URL: `http://127.0.0.1:${port}` });
      if (through === 'skf') {
        const config = path.join(dir, 'unified-id-helper.json');
        writeFileSync(config, JSON.stringify({ origins: [server.issuer], modules: [softSkfLibrary()] }));
        args.push('--config', config);
      }
      // As on a clerk's PC: no node on PATH, and no --module.
      const emptyBin = mkdtempSync(path.join(dir, 'bin-'));
      helper = spawn(executable, [...args, '--origin', server.issuer, '--port', String(port)], {
        env: { PATH: emptyBin, HOME: dir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await outputUntil(helper, (out) => out.includes('证书助手 listening on'));
      await pageOfTheFile();
    }, 600_000);
    afterAll(async () => {
      if (helper) await stop(helper);
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('binds the USB key after registration, then signs in with 数字证书登录 at L3', async () => {
      const page = await freshSession(await pageOfTheFile());
      const errors = pageErrorsOf(page);
      const { accountId } = await addEnterprise(server, { orgName: ORG, creditCode, password: PASSWORD });
      await page.goto(enterpriseLoginUrl(server));
      const uid = /\/interaction\/([\w-]+)/.exec(page.url())![1]!;
      await server.services.flowStates.put('legal-register', uid, { accountId });
      await page.goto(`${server.issuer}/interaction/${uid}/cert/bind`);
      const claims = await bindThenSignInWithCertificate(page, server, { pin: TOKEN.pin, orgName: ORG });
      expect(claims).toContain('"certification_level": "L3"');
      expect(claims).toContain(`"uscc": "${creditCode}"`);
      expect(claims).toContain('"acr": "urn:unified-id:acr:cert"');
      expect(errors).toEqual([]);
    });
  },
);
