import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importIntoSoftHsm, prepareSoftHsm, softHsmAvailable } from '../../src/bridge/softhsm.js';
import { createDevCa, issueEnterpriseCertificate } from '../../src/pki/dev-ca.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import {
  chromiumAvailable,
  launchChromium,
  pageErrorsOf,
  startDemoServer,
  textOf,
} from '../support/browser.js';
import { outputUntil, stop } from '../support/cli.js';
import { addEnterprise } from '../support/enterprise.js';
import { builtHelper } from '../support/helper-build.js';
import { freePort, type TestServer } from '../support/server.js';

const TOKEN = { label: 'uid-packaged-helper', pin: '246810', soPin: '13579111' };
const ORG = '泉州刺桐示范有限公司';
const PASSWORD = 'Ci-Tong#2025';

describe.skipIf(!chromiumAvailable() || !softHsmAvailable())(
  'an enterprise signs in through the packaged 证书助手 (the single executable, no Node.js)',
  () => {
    let server: TestServer;
    let browser: Browser;
    let helper: ChildProcessByStdio<null, Readable, Readable>;
    let dir: string;
    const creditCode = randomCreditCode();

    beforeAll(async () => {
      const { executable } = await builtHelper();
      dir = mkdtempSync(path.join(tmpdir(), 'uid-packaged-'));
      const ca = await createDevCa({ algorithm: 'ECDSA-P256', commonName: '示范数字认证中心' });
      writeFileSync(path.join(dir, 'dev-ca.pem'), ca.certificatePem);
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode,
        orgName: ORG,
        algorithm: 'ECDSA-P256',
      });
      const conf = prepareSoftHsm(path.join(dir, 'hsm'), TOKEN);
      importIntoSoftHsm(TOKEN, {
        id: '0c',
        label: 'ent',
        privateKey: issued.privateKey,
        certificateDer: issued.certificateDer,
      });
      const port = await freePort();
      server = await startDemoServer({ CERTS_DIR: dir, CERT_BRIDGE_URL: `http://127.0.0.1:${port}` });
      // As on a clerk's PC: no node on PATH, no --module (the helper finds SoftHSM2's library itself).
      const emptyBin = mkdtempSync(path.join(dir, 'bin-'));
      helper = spawn(executable, ['--origin', server.issuer, '--port', String(port)], {
        env: { PATH: emptyBin, HOME: dir, SOFTHSM2_CONF: conf },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await outputUntil(helper, (out) => out.includes('证书助手 listening on'));
      browser = await launchChromium();
    }, 600_000);
    afterAll(async () => {
      await browser?.close();
      if (helper) await stop(helper);
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function readAndSign(page: Page, button: string) {
      await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
      const option = page.getByLabel('选择证书').locator('option');
      await expect.poll(() => option.count()).toBe(1);
      expect(await option.first().textContent()).toContain(ORG);
      await page.getByLabel('证书密码（PIN）').fill(TOKEN.pin);
      await page.getByRole('button', { name: button }).click();
    }

    it('binds the USB key after registration, then signs in with 数字证书登录 at L3', async () => {
      const page = await browser.newPage();
      const errors = pageErrorsOf(page);
      const { accountId } = await addEnterprise(server, { orgName: ORG, creditCode, password: PASSWORD });
      await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
      const uid = /\/interaction\/([\w-]+)/.exec(page.url())![1]!;
      await server.services.flowStates.put('legal-register', uid, { accountId });
      await page.goto(`${server.issuer}/interaction/${uid}/cert/bind`);
      await readAndSign(page, '绑定证书');
      await page.getByRole('button', { name: '同意' }).click();
      expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L3"');
      await page.getByRole('button', { name: '退出' }).click();
      await page.getByRole('button', { name: '退出登录' }).click();
      await page.getByRole('button', { name: '登录' }).waitFor();

      await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
      await page.getByRole('link', { name: '法人用户登录' }).click();
      await page.getByRole('link', { name: '证书登录' }).click();
      await readAndSign(page, '数字证书登录');
      const claims = await textOf(page, '#id-token-claims');
      expect(claims).toContain('"certification_level": "L3"');
      expect(claims).toContain(`"uscc": "${creditCode}"`);
      expect(claims).toContain('"acr": "urn:unified-id:acr:cert"');
      expect(errors).toEqual([]);
    });
  },
);
