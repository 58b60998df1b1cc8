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
import {
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  issueEnterpriseCertificate,
  toPkcs12,
} from '../../src/pki/dev-ca.js';
import {
  bindThenSignInWithCertificate,
  captchaAnswerIn,
  chromiumAvailable,
  fillEnterpriseRegistration,
  freshSession,
  launchChromium,
  pageErrorsOf,
  smsCodeAfter,
  startDemoServer,
  textOf,
} from '../support/browser.js';
import { addCitizen, randomIdNumber, smsOutbox } from '../support/citizen.js';
import { freePort, type TestServer } from '../support/server.js';

const CREDIT_CODE = '91350100M000100Y43';
const TOKEN = { label: 'uid-browser-test', pin: '123456', soPin: '12345678' };

describe.skipIf(!chromiumAvailable() || !softHsmAvailable())(
  'an enterprise with a USB key (SoftHSM2) in a real browser',
  () => {
    let server: TestServer;
    let browser: Browser;
    /** The file's one page, started afresh (no cookies) by each test instead of a new browser context. */
    let shared: Page;
    let bridge: Awaited<ReturnType<typeof startBridge>>;
    let token: Pkcs11Token;
    let p12File: string;
    /** The representative's phone, where 用户空间 sends the code that allows binding. */
    let representativePhone: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'uid-enterprise-'));
      const ca = await createDevCa({ algorithm: 'RSA' });
      writeFileSync(path.join(dir, 'dev-ca.pem'), ca.certificatePem);
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福建示范有限公司',
        algorithm: 'ECDSA-P256',
        // On the token: marked as a hardware key, as `unified-id dev-ca --softhsm` does.
        policies: [DEV_HARDWARE_POLICY_OID],
      });
      // A software certificate of the same enterprise, as a PKCS#12 file.
      const software = await issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福建示范有限公司',
        algorithm: 'RSA',
      });
      p12File = path.join(dir, 'company.p12');
      writeFileSync(
        p12File,
        await toPkcs12(software.certificateDer, software.privateKey, [ca.certificateDer], 'p12-secret'),
      );
      prepareSoftHsm(path.join(dir, 'hsm'), TOKEN);
      importIntoSoftHsm(TOKEN, {
        id: '0a',
        label: '福建示范有限公司',
        privateKey: issued.privateKey,
        certificateDer: issued.certificateDer,
      });
      const bridgePort = await freePort();
      server = await startDemoServer({ CERTS_DIR: dir, CERT_BRIDGE_URL: `http://127.0.0.1:${bridgePort}` });
      const { Pkcs11Token } = await import('../../src/bridge/token.js');
      token = new Pkcs11Token(SOFTHSM_MODULE);
      bridge = await startBridge({ token, origins: [server.issuer], port: bridgePort });
      browser = await launchChromium();
      shared = await browser.newPage();
    });
    afterAll(async () => {
      await browser?.close();
      await bridge?.close();
      token?.close();
      await server?.close();
    });

    it('registers, binds the key through the bridge, signs out, and signs in with 数字证书登录 at L3', async () => {
      const idNumber = randomIdNumber('19750505');
      const { phone } = await addCitizen(server, 'Rep-Pass#2024', { realName: '陈嘉庚', idNumber });
      representativePhone = phone;

      const page = await freshSession(shared);
      await fillEnterpriseRegistration(page, server, {
        orgName: '福建示范有限公司',
        creditCode: CREDIT_CODE,
        repName: '陈嘉庚',
        idNumber,
        phone,
        password: 'Ent-Pass#2024',
      });
      await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, server));
      const code = await smsCodeAfter(server, phone, () =>
        page.getByRole('button', { name: '获取验证码' }).click(),
      );
      await page.getByLabel('短信验证码').fill(code);
      await page.getByLabel(/我已阅读并同意/).check();
      await page.getByRole('button', { name: '实名认证' }).click();

      // 法定代表人确认: the code goes to the representative's own real-name phone (here also the
      // contact phone, which had its own code first).
      await page.getByRole('heading', { name: '法定代表人确认' }).waitFor();
      expect(await textOf(page, '#representative-phone')).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
      const codes = await smsOutbox(server, phone);
      expect(codes[0]!.text).toContain(`统一社会信用代码为${CREDIT_CODE}`);
      await page.getByLabel('短信验证码').fill(codes[0]!.code!);
      await page.getByRole('button', { name: '确认注册' }).click();

      // 绑定证书: the page lists the key's certificate through the bridge; the PIN goes to the bridge only.
      // Then 法人用户登录 → 证书登录 → 数字证书登录, with a wrong PIN first.
      await page.getByRole('heading', { name: '绑定证书' }).waitFor();
      const claims = await bindThenSignInWithCertificate(
        page,
        server,
        { pin: TOKEN.pin, option: '0a' },
        { wrongPin: '000000' },
      );
      expect(claims).toContain('"certification_level": "L3"');
      expect(claims).toContain('"user_type": "legal_person"');
      expect(claims).toContain(`"uscc": "${CREDIT_CODE}"`);
      expect(claims).toContain('"acr": "urn:unified-id:acr:cert"');
      expect(claims).toContain('"hwk"');
    });

    it('binds a PKCS#12 file in 用户空间 after certificate login refused it, then signs in with it (amr swk)', async () => {
      const page = await freshSession(shared);
      const errors = pageErrorsOf(page);
      const openFilePage = async () => {
        await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
        await page.getByRole('link', { name: '法人用户登录' }).click();
        await page.getByRole('link', { name: '证书登录' }).click();
        await page.getByLabel('证书文件（PKCS#12）').setInputFiles(p12File);
      };
      await openFilePage();
      await page.getByLabel('证书文件密码').fill('wrong');
      await page.getByRole('button', { name: '使用证书文件登录' }).click();
      expect(await textOf(page, '#cert-error')).toBe('无法打开证书文件：文件或密码不正确');
      // Opened and signed in the page: the server verified it, but it is not bound yet, and the
      // message leads to the page that can bind it.
      await page.getByLabel('证书文件密码').fill('p12-secret');
      await page.getByRole('button', { name: '使用证书文件登录' }).click();
      const refusal = page.locator('#cert-error', { hasText: '尚未绑定' });
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain('用户空间 → 认证等级 → CA认证');
      await refusal.getByRole('link', { name: '去用户空间绑定证书' }).click();

      // 用户空间 asks the enterprise to sign in first: 统一社会信用代码 and password.
      await page.getByRole('link', { name: '法人用户登录' }).click();
      await page.getByLabel('统一社会信用代码').fill(CREDIT_CODE);
      await page.getByLabel('密码', { exact: true }).fill('Ent-Pass#2024');
      await page.getByRole('button', { name: '登录' }).click();
      await page.getByRole('heading', { name: '高级认证 · CA认证' }).waitFor();
      expect(await page.locator('#certificates tbody tr').count()).toBe(1);
      expect(await page.locator('main, body').first().textContent()).toContain('证书文件（PKCS#12）');
      const code = await smsCodeAfter(server, representativePhone, () =>
        page.getByRole('button', { name: '获取验证码' }).click(),
      );
      await page.getByLabel('短信验证码').fill(code);
      await page.getByRole('button', { name: '下一步' }).click();

      // 绑定证书 in 用户空间 offers the file as registration does; the file never leaves the page.
      await page.getByRole('heading', { name: '绑定证书' }).waitFor();
      await page.getByLabel('证书文件（PKCS#12）').setInputFiles(p12File);
      await page.getByLabel('证书文件密码').fill('p12-secret');
      await page.getByRole('button', { name: '使用证书文件绑定' }).click();
      await page.getByText('证书绑定成功').waitFor();
      expect(await page.locator('#certificates tbody tr').count()).toBe(2);

      // Signed out of everything (a new day at the office): the file alone now signs in.
      await page.context().clearCookies();
      await openFilePage();
      await page.getByLabel('证书文件密码').fill('p12-secret');
      await page.getByRole('button', { name: '使用证书文件登录' }).click();
      const claims = await textOf(page, '#id-token-claims');
      expect(claims).toContain('"acr": "urn:unified-id:acr:cert"');
      expect(claims).toContain('"swk"');
      expect(errors).toEqual([]);
    });
  },
);
