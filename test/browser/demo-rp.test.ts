import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  cspViolationsOf,
  launchChromium,
  startDemoServer,
  textOf,
} from '../support/browser.js';
import { addCitizen } from '../support/citizen.js';
import type { TestServer } from '../support/server.js';

const PASSWORD = 'Chen-Liu#2024';

// CI installs chromium; a developer machine without it skips rather than fails.
describe.skipIf(!chromiumAvailable())('a citizen in a real browser at the demo site', () => {
  let server: TestServer;
  let browser: Browser;
  let phone: string;

  beforeAll(async () => {
    server = await startDemoServer();
    phone = (await addCitizen(server, PASSWORD)).phone;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in through the Chinese pages, sees the claims, and signs out', async () => {
    const page = await browser.newPage();
    const cspViolations = cspViolationsOf(page);
    await page.goto(`${server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();

    await expect.poll(() => page.url()).toContain('/interaction/');
    await page.getByLabel('手机号码/身份证号码').fill(phone);
    await page.getByLabel('密码').fill('not-the-password-1');
    await page.getByRole('button', { name: '登录' }).click();
    expect(await textOf(page, '[role=alert]')).toBe('账号或密码错误');

    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '授权确认' }).waitFor();
    await page.getByRole('button', { name: '同意' }).click();

    expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L1"');
    expect(await textOf(page, '#id-token-claims')).toContain('"acr": "urn:unified-id:acr:basic"');
    expect(await textOf(page, '#userinfo')).toContain(`"phone_number": "+86${phone}"`);

    await page.getByRole('button', { name: '退出' }).click();
    await page.getByRole('heading', { name: '退出登录' }).waitFor();
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('button', { name: '登录' }).waitFor();

    // Signed out at the provider too: the next sign-in asks for the password again.
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByLabel('手机号码/身份证号码').waitFor();
    expect(cspViolations).toEqual([]);
  });
});
