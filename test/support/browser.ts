import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { OutboxMessage } from '../../src/outside/sms/dev-outbox.js';
import { latestSmsCode, smsOutbox } from './citizen.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * Debian's headless shell of Chromium (package chromium-headless-shell: the same Blink, without
 * the browser's window layer), which is what Playwright itself launches for headless runs; the
 * full `chromium` where it is not installed. form-errors, run under both at once: 37.5 CPU s under
 * the shell, 51.9 under the full browser (docs/suite-time.md).
 */
const HEADLESS_SHELL = '/usr/lib/chromium/chromium-headless-shell';
const CHROMIUM =
  process.env['CHROMIUM_PATH'] ?? (existsSync(HEADLESS_SHELL) ? HEADLESS_SHELL : '/usr/bin/chromium');

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** Debian's Chromium, headless, with the flags this closed network needs (no background calls out); Playwright gives it a fresh profile. */
function launchShared(): Promise<Browser> {
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

/** Kept on globalThis, not in this module, so that a file run with a module graph of its own finds it too. */
const worker = globalThis as { uidChromium?: Promise<Browser> };

/**
 * The test worker's Chromium, seen by one test file. A worker launches one Chromium for all the
 * files it runs (a launch costs Chromium about 0.65 CPU s, docs/suite-time.md); what a file opens
 * in it are browser contexts, which share no cookies, storage or pages. `close()` closes the
 * contexts this file opened and leaves the browser to the worker's next file; Playwright ends it
 * with the worker's process.
 */
export async function launchChromium(): Promise<Browser> {
  worker.uidChromium ??= launchShared();
  let browser = await worker.uidChromium;
  if (!browser.isConnected()) {
    worker.uidChromium = launchShared();
    browser = await worker.uidChromium;
  }
  const opened = new Set<BrowserContext>();
  const track = (context: BrowserContext) => {
    opened.add(context);
    context.once('close', () => opened.delete(context));
    return context;
  };
  const ofFile: Partial<Browser> = {
    newContext: async (options?: BrowserContextOptions) => track(await browser.newContext(options)),
    newPage: async (options?: BrowserContextOptions) => {
      const page = await browser.newPage(options);
      track(page.context());
      return page;
    },
    close: async () => {
      await Promise.all([...opened].map((context) => context.close()));
    },
  };
  return new Proxy(browser, {
    get(target, property) {
      if (property in ofFile) return ofFile[property as keyof Browser];
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
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

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** WCAG 2.1 A/AA violations axe-core finds in the page as shown, each with the elements at fault. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  return runAxe(page);
}

let axeSource: string | undefined;

/**
 * The same check as axeViolations, with axe-core evaluated in the page rather than added as a
 * script element: about half the CPU of each check, and no Content Security Policy stands in its
 * way (the context needs no bypassCSP). It needs the page's scripts on: axe-core waits on timers.
 */
export async function axeViolationsOf(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(AXE, 'utf8');
  await page.evaluate(axeSource);
  return runAxe(page);
}

/** axe-core's WCAG 2.1 A/AA rules on the page, once axe-core is in it. */
async function runAxe(page: Page): Promise<string[]> {
  const result = await page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: { run(c: unknown, o: unknown): Promise<unknown> } }).axe;
    return (await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: 'tag', values: tags },
    })) as { violations: { id: string; nodes: { target: string[] }[] }[] };
  }, WCAG_21_AA);
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
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

/** The size of a page Playwright opens without one: what `browser.newPage()` shows. */
export const DEFAULT_VIEWPORT = { width: 1280, height: 720 } as const;

/**
 * `page` as a newcomer's at `viewport`: no cookies (no session at any site), the window resized.
 * What a new browser context gives a test that only needs a fresh session, without the CPU second
 * Chromium spends making one.
 */
export async function freshSession(
  page: Page,
  viewport: { width: number; height: number } = DEFAULT_VIEWPORT,
): Promise<Page> {
  await page.context().clearCookies();
  await page.setViewportSize({ width: viewport.width, height: viewport.height });
  return page;
}

/** Where browser tests write their step-by-step screenshots (not committed). */
export const SCREENSHOT_DIR = process.env['TEST_OUTPUT_DIR'] ?? 'test-output/screenshots';

/** Whether this run takes them (TEST_SCREENSHOTS=0: no). */
export const SCREENSHOTS = process.env['TEST_SCREENSHOTS'] !== '0';

/**
 * A screenshot of the page as it is now, `<dir>/<name>.png`. A full-page PNG is one of the
 * dearest things a walk does on two cores; a run whose pictures nobody looks at (CI) sets
 * TEST_SCREENSHOTS=0.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

/** Script errors the page throws from now on: a walk through the guide must meet none. */
export function pageErrorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/**
 * Where the demo site's 登录 (no acr_values chosen) leads: its sign-in, straight to the provider's
 * login page. For tests whose subject is past that page; the demo site's own page is walked elsewhere.
 */
export function demoLoginUrl(server: TestServer): string {
  return `${server.issuer}/dev/rp/login`;
}

/**
 * The provider's sign-in that the demo site's 登录 opens for the page's session, `/interaction/<uid>`,
 * without drawing it in the browser: the redirects are followed with the page's cookies. For tests
 * whose subject is another page of that sign-in (注册, 忘记密码): they go there straight.
 */
export async function demoInteractionUrl(page: Page, server: TestServer): Promise<string> {
  const res = await page.request.get(demoLoginUrl(server));
  const url = new URL(res.url());
  if (!url.pathname.startsWith('/interaction/')) throw new Error(`the demo site's sign-in led to ${url}`);
  return `${url.origin}${url.pathname}`;
}

/** The demo site's sign-in asking for the enterprise scope, where a legal person starts. */
export function enterpriseLoginUrl(server: TestServer): string {
  return `${server.issuer}/dev/rp/login?scope=${encodeURIComponent('openid enterprise')}`;
}

export interface EnterpriseApplicant {
  orgName: string;
  creditCode: string;
  /** 法定代表人: a citizen with this real name and ID number, whose phone is also the contact phone. */
  repName: string;
  idNumber: string;
  phone: string;
  password: string;
}

/**
 * From the demo site to the 法人注册 form of an enterprise, filled up to 确认密码: what is left is
 * 图片验证码, the SMS code and the agreement.
 */
export async function fillEnterpriseRegistration(page: Page, server: TestServer, who: EnterpriseApplicant) {
  await page.goto(enterpriseLoginUrl(server));
  await page.getByRole('link', { name: '注册' }).click();
  await page.getByRole('link', { name: /法人用户/ }).click();
  await page.getByLabel('法人类型').selectOption('enterprise');
  await page.getByLabel('企业名称/机构名称').fill(who.orgName);
  await page.getByLabel('统一社会信用代码').fill(who.creditCode);
  await page.getByLabel('法定代表人姓名').fill(who.repName);
  await page.getByLabel('法定代表人身份证号码').fill(who.idNumber);
  await page.getByLabel('联系手机号码').fill(who.phone);
  await page.getByLabel('登录密码').fill(who.password);
  await page.getByLabel('确认密码').fill(who.password);
}

/** 图片验证码, 获取验证码 and the code that reached `phone`, the agreement ticked: ready for 实名认证. */
export async function confirmByCode(page: Page, server: TestServer, phone: string) {
  await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, server));
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
  await page.getByLabel('短信验证码').fill((await latestSmsCode(server, phone))!);
  await page.getByLabel(/我已阅读并同意/).check();
}

/** A certificate on the USB key, as the 证书助手 (or the bridge) lists it. */
export interface UsbKeyCertificate {
  pin: string;
  /** The option to choose; without it, the key must list exactly one certificate. */
  option?: string;
  /** The organisation the listed certificate must name. */
  orgName?: string;
}

/** 读取 USB Key 中的证书, the certificate chosen and its PIN typed: ready to press 绑定证书 or 数字证书登录. */
export async function readUsbKey(page: Page, key: UsbKeyCertificate, pin = key.pin) {
  await page.getByRole('button', { name: '读取 USB Key 中的证书' }).click();
  const select = page.getByLabel('选择证书');
  if (key.option) await select.selectOption(key.option);
  else await expect.poll(() => select.locator('option').count()).toBe(1);
  if (key.orgName) expect(await select.locator('option').first().textContent()).toContain(key.orgName);
  await page.getByLabel('证书密码（PIN）').fill(pin);
}

/**
 * On the 绑定证书 page of a legal person: binds the key's certificate and lets the demo site in at
 * L3, signs out, and comes back through 法人用户登录 → 证书登录 → 数字证书登录. A wrong PIN first,
 * if `wrongPin` is given, must be refused with 证书密码（PIN）错误. Resolves with the ID token's
 * claims as the demo site shows them.
 */
export async function bindThenSignInWithCertificate(
  page: Page,
  server: TestServer,
  key: UsbKeyCertificate,
  options: { wrongPin?: string } = {},
): Promise<string> {
  await readUsbKey(page, key);
  await page.getByRole('button', { name: '绑定证书' }).click();
  await page.getByRole('button', { name: '同意' }).click();
  expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L3"');
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.getByRole('button', { name: '登录' }).waitFor();

  await page.goto(enterpriseLoginUrl(server));
  await page.getByRole('link', { name: '法人用户登录' }).click();
  await page.getByRole('link', { name: '证书登录' }).click();
  if (options.wrongPin) {
    await readUsbKey(page, key, options.wrongPin);
    await page.getByRole('button', { name: '数字证书登录' }).click();
    expect(await textOf(page, '#cert-error')).toBe('证书密码（PIN）错误');
    await page.getByLabel('证书密码（PIN）').fill(key.pin);
  } else {
    await readUsbKey(page, key);
  }
  await page.getByRole('button', { name: '数字证书登录' }).click();
  return textOf(page, '#id-token-claims');
}

/** A browser context and its one page that the walks of a describe block take turns on. */
export interface SharedContext {
  /**
   * Runs `walk` at `viewport` on the shared page, starting with no cookies; every page it opens
   * must throw no script error.
   */
  walk(
    viewport: { width: number; height: number },
    walk: (page: Page, context: BrowserContext) => Promise<void>,
  ): Promise<void>;
}

/**
 * One browser context, and one page in it, for all the walks of a describe block that use the
 * same context options, made at the first walk and closed after the block. A new context per walk
 * costs about 1 CPU s of Chromium's, and the first page of a context starts a renderer process.
 * Each walk starts as freshSession leaves the page: no cookies (the only state these pages keep in
 * the browser), at the walk's width.
 */
export function sharedContext(
  demo: { browser: Browser },
  options: BrowserContextOptions = {},
): SharedContext {
  let shared: { context: BrowserContext; page: Page } | undefined;
  const errors: string[] = [];
  afterAll(async () => {
    await shared?.context.close().catch(() => {});
  });
  return {
    async walk(viewport, walk) {
      const size = { width: viewport.width, height: viewport.height };
      if (shared) {
        // The last walk's page may still be loading (a captcha image sets the session cookie).
        await shared.page.waitForLoadState('load');
        await freshSession(shared.page, size);
      } else {
        const context = await demo.browser.newContext({ ...options, viewport: size });
        shared = { context, page: await context.newPage() };
        shared.page.on('pageerror', (err) => errors.push(err.message));
      }
      errors.length = 0;
      await walk(shared.page, shared.context);
      expect(errors).toEqual([]);
    },
  };
}
