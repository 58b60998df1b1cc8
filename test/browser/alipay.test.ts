import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ALIPAY_USERS } from '../../src/outside/alipay/dev-server.js';
import { type AlipayFake, startAlipayFake } from '../support/alipay.js';
import {
  chromiumAvailable,
  cspViolationsOf,
  launchChromium,
  startDemoServer,
  textOf,
} from '../support/browser.js';
import type { TestServer } from '../support/server.js';

describe.skipIf(!chromiumAvailable())('支付宝登录 in a real browser at the demo site', () => {
  let fake: AlipayFake;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    // The same test users `unified-id dev-alipay` offers: 张三 is certified and has a mobile.
    fake = await startAlipayFake([...DEV_ALIPAY_USERS]);
    server = await startDemoServer(fake.env);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await fake?.alipay.close();
  });

  it('registers through Alipay (支付宝关联注册), signs in at L2 with amr alipay, and signs straight in the next time', async () => {
    const page = await browser.newPage();
    const cspViolations = cspViolationsOf(page);

    await page.goto(`${server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '支付宝登录' }).click();

    // The (fake) Alipay authorisation page: pick 张三 and agree.
    await page.getByRole('heading', { name: '支付宝登录授权' }).waitFor();
    await page.getByRole('button', { name: /张三/ }).click();

    await page.getByRole('heading', { name: '支付宝关联注册' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('138****8000');
    await page.getByLabel(/我已阅读并同意/).check();
    await page.getByRole('button', { name: '注册并登录' }).click();
    await page.getByRole('button', { name: '同意' }).click();

    const claims = JSON.parse(await textOf(page, '#id-token-claims')) as Record<string, unknown>;
    expect(claims['certification_level']).toBe('L2');
    expect(claims['amr']).toContain('alipay');
    expect(claims['acr']).toBe('urn:unified-id:acr:basic');
    expect(await textOf(page, '#userinfo')).toContain('"name": "张三"');

    // 退出, then Alipay alone signs in to the same account.
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '支付宝登录' }).click();
    await page.getByRole('button', { name: /张三/ }).click();
    const again = JSON.parse(await textOf(page, '#id-token-claims')) as Record<string, unknown>;
    expect(again['sub']).toBe(claims['sub']);
    expect(again['amr']).toEqual(['alipay']);
    expect(cspViolations).toEqual([]);
  });
});
