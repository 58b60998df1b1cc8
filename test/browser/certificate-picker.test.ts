import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge } from '../../src/bridge/bridge-server.js';
import {
  importIntoSoftHsm,
  prepareSoftHsm,
  SOFTHSM_MODULE,
  softHsmAvailable,
} from '../../src/bridge/softhsm.js';
import type { Pkcs11Token } from '../../src/bridge/token.js';
import { createDevCa, issueEnterpriseCertificate } from '../../src/pki/dev-ca.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import {
  chromiumAvailable,
  freshSession,
  launchChromium,
  pageErrorsOf,
  startDemoServer,
  textOf,
} from '../support/browser.js';
import { addEnterprise } from '../support/enterprise.js';
import { freePort, type TestServer } from '../support/server.js';

const TOKEN = { label: 'uid-picker-test', pin: '123456', soPin: '12345678' };
const ORG = '厦门鹭江示范有限公司';
const PASSWORD = 'Lu-Jiang#2024';

describe.skipIf(!chromiumAvailable() || !softHsmAvailable())(
  '选择证书 speaks of the enterprise, not the token',
  () => {
    let server: TestServer;
    let browser: Browser;
    let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
    let token: Pkcs11Token;
    const creditCode = randomCreditCode();

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'uid-picker-'));
      const ca = await createDevCa({ algorithm: 'ECDSA-P256', commonName: '示范数字认证中心' });
      writeFileSync(path.join(dir, 'dev-ca.pem'), ca.certificatePem);
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode,
        orgName: ORG,
        algorithm: 'ECDSA-P256',
      });
      prepareSoftHsm(path.join(dir, 'hsm'), TOKEN);
      // The object label a key vendor's tool might leave: nothing a clerk would recognise.
      importIntoSoftHsm(TOKEN, {
        id: '0b',
        label: 'ent',
        privateKey: issued.privateKey,
        certificateDer: issued.certificateDer,
      });
      const bridgePort = await freePort();
      server = await startDemoServer({ CERTS_DIR: dir, CERT_BRIDGE_URL: `http://127.0.0.1:${bridgePort}` });
      const { Pkcs11Token } = await import('../../src/bridge/token.js');
      token = new Pkcs11Token(SOFTHSM_MODULE);
      bridge = await startBridge({ token, origins: [server.issuer], port: bridgePort });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await bridge?.close();
      token?.close();
      await server?.close();
    });

    /** The file's one page, started afresh (no cookies) by each test instead of a new browser context. */
    let shared: Page | undefined;
    async function freshPage(): Promise<Page> {
      shared ??= await browser.newPage();
      return freshSession(shared);
    }

    /** A newly registered enterprise at its 绑定证书 step, in a sign-in at the demo site. */
    async function bindPage(page: Page) {
      const { accountId } = await addEnterprise(server, { orgName: ORG, creditCode, password: PASSWORD });
      await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
      const uid = /\/interaction\/([\w-]+)/.exec(page.url())![1]!;
      await server.services.flowStates.put('legal-register', uid, { accountId });
      await page.goto(`${server.issuer}/interaction/${uid}/cert/bind`);
    }

    it('lists the certificate by 企业名称, issuer and expiry, and binds it', async () => {
      const page = await freshPage();
      const errors = pageErrorsOf(page);
      await bindPage(page);
      await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
      const option = page.getByLabel('选择证书').locator('option');
      await expect.poll(() => option.count()).toBe(1);
      const text = (await option.first().textContent())!;
      expect(text).toMatch(new RegExp(`^${ORG}（颁发者：示范数字认证中心，有效期至 \\d{4}/\\d\\d/\\d\\d）$`));
      expect(text).not.toContain('ent（');
      expect(await page.locator('#bridge-missing').isVisible()).toBe(false);

      await page.getByLabel('证书密码（PIN）').fill(TOKEN.pin);
      await page.getByRole('button', { name: '绑定证书' }).click();
      await page.getByRole('button', { name: '同意' }).click();
      expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L3"');
      expect(errors).toEqual([]);
    });

    it('without the helper, says what to do in plain words and shows no empty controls', async () => {
      await bridge?.close();
      bridge = undefined;
      const page = await freshPage();
      const errors = pageErrorsOf(page);
      await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
      await page.getByRole('link', { name: '法人用户登录' }).click();
      await page.getByRole('link', { name: '证书登录' }).click();
      await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
      const notice = page.locator('#bridge-missing');
      await notice.waitFor();
      expect(await notice.textContent()).toContain('插入USB Key，安装并启动证书助手');
      expect(await notice.evaluate((el) => el.className)).toContain('warning');
      expect(await notice.textContent()).not.toContain('npx');
      for (const label of ['选择证书', '证书密码（PIN）'])
        expect(await page.getByLabel(label).isVisible()).toBe(false);
      expect(await page.getByRole('button', { name: '数字证书登录' }).isVisible()).toBe(false);
      // Download, install, allow, or ask IT: each step in words, and the installers one click away.
      for (const step of ['下载', '安装', '允许', 'IT 管理员'])
        expect(await notice.textContent()).toContain(step);
      expect(await notice.getByRole('link', { name: '下载证书助手' }).getAttribute('href')).toBe('/helper/');
      // Listening before the click: the new tab can open before a listener added after it.
      const [help] = await Promise.all([
        page.context().waitForEvent('page'),
        notice.getByRole('link', { name: '证书助手使用说明' }).click(),
      ]);
      await help.getByRole('heading', { name: '证书助手使用说明' }).waitFor();
      expect(errors).toEqual([]);
    });
  },
);
