import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { OutboxMessage } from '../../src/outside/sms/dev-outbox.js';
import { smsOutbox } from './citizen.js';
import { startTestServer, type TestServer } from './server.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** Debian's Chromium, headless, with the flags this closed network needs (no background calls out); Playwright gives it a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A server in development mode with its demo site (/dev/rp/), where a browser test starts as a person would. */
export function startDemoServer(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer({ env: { DEMO_CLIENT: 'true', NODE_ENV: 'development', ...env } });
}

/**
 * The demo server and the Chromium that the tests of a describe block share: started before its
 * first test and closed after its last. Read the fields in the block's tests and hooks.
 */
export function demoServerAndBrowser(env: Record<string, string> = {}): {
  server: TestServer;
  browser: Browser;
} {
  const demo = {} as { server: TestServer; browser: Browser };
  beforeAll(async () => {
    demo.server = await startDemoServer(env);
    demo.browser = await launchChromium();
  });
  afterAll(async () => {
    await demo.browser?.close();
    await demo.server?.close();
  });
  return demo;
}

/** The Content Security Policy violations the page reports from now on; a page's own scripts must cause none. */
export function cspViolationsOf(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return violations;
}

/** The text of the element `selector` matches, once it is there. */
export async function textOf(page: Page, selector: string): Promise<string> {
  const locator = page.locator(selector);
  await locator.waitFor();
  return (await locator.textContent()) ?? '';
}

/** The answer to the page's captcha, asked with the page's own cookies (the captcha belongs to its session). */
export async function captchaAnswerIn(page: Page, server: TestServer): Promise<string> {
  // Loading the image creates the captcha: wait for it before asking for the answer.
  await page
    .locator('img.captcha')
    .evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
  const res = await page.request.get(`${server.issuer}/dev/captcha`);
  return ((await res.json()) as { answer: string }).answer;
}

/**
 * Runs `send` (the click that asks for a code: 获取验证码, 下一步) and answers the code that then
 * reaches `phone`. A click returns once it is dispatched, before the server has sent anything, so
 * the outbox is read until a message newer than the ones before the click is there.
 */
export async function smsCodeAfter(
  server: TestServer,
  phone: string,
  send: () => Promise<unknown>,
): Promise<string> {
  const key = (m: OutboxMessage | undefined) => (m ? `${m.sentAt}|${m.code}|${m.text}` : '');
  const before = key((await smsOutbox(server, phone))[0]);
  await send();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const newest = (await smsOutbox(server, phone))[0];
    if (newest?.code && key(newest) !== before) return newest.code;
    if (Date.now() > deadline) throw new Error(`no new SMS code reached ${phone} after the click`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fills the password tab of the provider's login page and submits it. */
export async function signInWithPassword(page: Page, login: string, password: string) {
  await page.getByLabel('手机号码/身份证号码').fill(login);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await page.getByRole('button', { name: '登录' }).click();
}

/** The two widths the portal's guide is walked at: a desktop and a phone. */
export const VIEWPORTS = [
  { name: '1366', width: 1366, height: 768 },
  { name: '375', width: 375, height: 740 },
] as const;

/** Where browser tests write their step-by-step screenshots (not committed). */
export const SCREENSHOT_DIR = process.env['TEST_OUTPUT_DIR'] ?? 'test-output/screenshots';

/** A screenshot of the page as it is now, `<dir>/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

/** Script errors the page throws from now on: a walk through the guide must meet none. */
export function pageErrorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}
