import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge } from '../../src/bridge/bridge-server.js';
import type { BridgeToken, TokenCertificate, TokenStatus } from '../../src/bridge/token.js';
import {
  chromiumAvailable,
  freshSession,
  launchChromium,
  pageErrorsOf,
  startDemoServer,
} from '../support/browser.js';
import { freePort, type TestServer } from '../support/server.js';

/** A USB key with no certificates that counts what it is asked: the helper's side of each story. */
class EmptyKey implements BridgeToken {
  calls = 0;
  info(): TokenStatus {
    this.calls += 1;
    return { module: 'empty', library: 'empty', token: 'empty', slots: [] };
  }
  listCertificates(): TokenCertificate[] {
    this.calls += 1;
    return [];
  }
  sign(): Buffer {
    this.calls += 1;
    throw new Error('nothing to sign with');
  }
}

/**
 * Chromium offers no way to deny the Local Network Access permission from outside (CDP's
 * Browser.setPermission leaves `navigator.permissions.query` at 'prompt' for these names), so the
 * page is told 'denied' as a browser where the clerk clicked 阻止 would tell it. `names` are the
 * permission names this browser knows; asking for another throws, as older builds do.
 */
async function permissionDenied(context: BrowserContext, names: string[]) {
  // A string: this runs in the page, whose DOM types the tests are not compiled with.
  await context.addInitScript(`{
    const known = ${JSON.stringify(names)};
    const query = navigator.permissions.query.bind(navigator.permissions);
    navigator.permissions.query = (descriptor) => {
      if (descriptor.name === 'loopback-network' || descriptor.name === 'local-network-access') {
        if (!known.includes(descriptor.name))
          return Promise.reject(new TypeError(descriptor.name + ' is not a valid PermissionName'));
        return Promise.resolve({ name: descriptor.name, state: 'denied', onchange: null });
      }
      return query(descriptor);
    };
  }`);
}

describe.skipIf(!chromiumAvailable())('证书登录 and the browser’s permission to reach the 证书助手', () => {
  let server: TestServer;
  let browser: Browser;
  let bridgePort: number;
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  const key = new EmptyKey();
  /** The page of the tests that need no permission changed: one context, started afresh by each. */
  let plain: Page | undefined;
  async function plainPage(): Promise<Page> {
    plain ??= await browser.newPage();
    return freshSession(plain);
  }

  beforeAll(async () => {
    bridgePort = await freePort();
    server = await startDemoServer({ CERT_BRIDGE_URL: `http://127.0.0.1:${bridgePort}` });
    bridge = await startBridge({ token: key, origins: [server.issuer], port: bridgePort });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await server?.close();
  });

  /** 法人用户登录 → 证书登录 at the demo site, settled; and every request the page sends to the helper. */
  async function certificateLogin(page: Page): Promise<string[]> {
    const toHelper: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).port === String(bridgePort)) toHelper.push(request.url());
    });
    await page.goto(`${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`);
    await page.getByRole('link', { name: '法人用户登录' }).click();
    await page.getByRole('link', { name: '证书登录' }).click();
    await page.getByRole('button', { name: '读取 USB Key 中的证书' }).waitFor();
    await page.waitForLoadState('networkidle');
    return toHelper;
  }

  it('asks the helper nothing until the clerk clicks 读取 USB Key 中的证书', async () => {
    const page = await plainPage();
    const errors = pageErrorsOf(page);
    const before = key.calls;
    const toHelper = await certificateLogin(page);
    expect(toHelper).toEqual([]);
    expect(key.calls).toBe(before);
    expect(await page.locator('#bridge-missing').isVisible()).toBe(false);

    await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
    await page.locator('#no-certificates').waitFor();
    expect(toHelper).toEqual([`http://127.0.0.1:${bridgePort}/v1/certificates`]);
    expect(key.calls).toBe(before + 1);
    expect(errors).toEqual([]);
  });

  for (const names of [['loopback-network', 'local-network-access'], ['local-network-access']]) {
    it(`with the permission denied (${names.join(' and ')} known), says how to allow it or ask IT, and asks the helper nothing`, async () => {
      const context = await browser.newContext();
      await permissionDenied(context, names);
      const page = await context.newPage();
      const errors = pageErrorsOf(page);
      const before = key.calls;
      const toHelper = await certificateLogin(page);
      await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();

      const help = page.locator('#helper-denied');
      await help.waitFor();
      const text = (await help.textContent()) ?? '';
      expect(text).toContain('浏览器没有允许本网站使用证书助手');
      expect(text).toContain('网站设置');
      expect(text).toContain('允许');
      expect(text).toContain('IT 管理员');
      expect(await page.locator('#bridge-missing').isVisible()).toBe(false);
      expect(await page.getByLabel('证书密码（PIN）').isVisible()).toBe(false);
      expect(toHelper).toEqual([]);
      expect(key.calls).toBe(before);

      // 重新读取 after allowing: still denied here, so the same help, and still no call.
      await help.getByRole('button', { name: '重新读取' }).click();
      await help.waitFor();
      expect(toHelper).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('with a helper installed for another provider, says so and offers the download', async () => {
    await bridge?.close();
    bridge = await startBridge({ token: key, origins: ['https://id.other.gov.cn'], port: bridgePort });
    const page = await plainPage();
    const errors = pageErrorsOf(page);
    await certificateLogin(page);
    await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
    const help = page.locator('#helper-refused');
    await help.waitFor();
    expect(await help.textContent()).toContain('本机的证书助手没有为本平台设置');
    expect(await help.getByRole('link', { name: '下载证书助手' }).getAttribute('href')).toBe('/helper/');
    expect(await page.locator('#bridge-missing').isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });
});
