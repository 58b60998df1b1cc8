import { readFileSync } from 'node:fs';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeViolationsOf,
  chromiumAvailable,
  freshSession,
  launchChromium,
  signInWithPassword,
  textOf,
  VIEWPORTS,
} from '../support/browser.js';
import { addCitizen } from '../support/citizen.js';
import { runCli } from '../support/cli.js';
import { addEnterprise } from '../support/enterprise.js';
import { randomPhone } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { previousTotpCode } from '../support/totp.js';

// Browser globals, for the functions that run inside the page (this program is built without the DOM library).
// biome-ignore lint/suspicious/noExplicitAny: the page's own objects, typed by the browser, not by us
declare const document: any, window: any, getComputedStyle: any;
// biome-ignore lint/suspicious/noExplicitAny: as above
type Element = any;

const PASSWORD = 'Guan-Li#2024';
const CREDIT_CODE = '91350100M000100Y43';
const REPRESENTATIVE = '陈嘉庚';
/** What a code looks like when it leaks into a page: `login`, `step_up`, `password+otp`, `admin.x`. */
const CODE = /^[a-z][a-z0-9_.+:-]*$/;
const PHONE = VIEWPORTS.find((v) => v.name === '375')!;

/** How far the page scrolls sideways (0 when it does not), with the elements that stick out. */
async function sidewaysScroll(
  page: Page,
): Promise<{ scrollWidth: number; viewport: number; wide: string[] }> {
  return page.evaluate(() => {
    const viewport = window.innerWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > viewport + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`);
    return { scrollWidth: document.documentElement.scrollWidth, viewport, wide };
  });
}

/** The texts of the cells a table's rows hold under one column, by the cells' data-label. */
function cellsOf(page: Page, table: string, label: string): Promise<string[]> {
  return page.locator(`${table} tbody td[data-label="${label}"]`).allTextContents();
}

// On PostgreSQL when the suite has one (what production runs), else on the embedded database on disk.
describe.skipIf(!chromiumAvailable())('what operators and citizens see, at 1366 and 375 px', () => {
  let server: TestServer;
  let browser: Browser;
  const operators = { security: randomPhone(), audit: randomPhone(), system: randomPhone() };
  const contexts: BrowserContext[] = [];
  /** axe-core's findings on every page these tests open, by page and width. */
  const axeFindings: Record<string, string[]> = {};
  let enterprise: Awaited<ReturnType<typeof addEnterprise>>;
  let citizen: { phone: string; id: string };

  beforeAll(async () => {
    server = await startTestServer({
      kind: process.env['TEST_DATABASE_URL'] ? 'postgres' : 'pglite',
      env: { NODE_ENV: 'development' },
      prepare: async (env) => {
        const cliEnv = { ...process.env, ...env, LOG_LEVEL: 'warn' };
        for (const [role, phone] of Object.entries(operators)) {
          await runCli(['accounts', 'add', '--phone', phone, '--password', PASSWORD], cliEnv);
          await runCli(['operators', 'add', phone, '--role', role, '--reason', '初始化'], cliEnv);
        }
      },
    });
    browser = await launchChromium();
    enterprise = await addEnterprise(server, {
      orgName: '福建示范有限公司',
      creditCode: CREDIT_CODE,
      password: PASSWORD,
      representativeName: REPRESENTATIVE,
    });
    citizen = await addCitizen(server, PASSWORD);
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  async function newPage(): Promise<Page> {
    // axe-core is evaluated over DevTools, outside the pages' Content Security Policy, which stays on.
    const context = await browser.newContext({
      viewport: { width: 1366, height: 768 },
      acceptDownloads: true,
    });
    contexts.push(context);
    return context.newPage();
  }

  /**
   * The browser of the people who are not operators, with no session left from an earlier test: one
   * context for all of them (a new one costs Chromium a CPU second).
   */
  let people: Page | undefined;
  async function personPage(viewport: { width: number; height: number }): Promise<Page> {
    people ??= await newPage();
    return freshSession(people, viewport);
  }

  /** One operator's browser, signed in to the console with the password and a TOTP code. */
  const signedIn = new Map<keyof typeof operators, Page>();
  async function operator(role: keyof typeof operators): Promise<Page> {
    const open = signedIn.get(role);
    if (open) return open;
    const account = await server.services.accounts.findByLogin(operators[role]);
    const { secret } = await server.services.totp.beginEnrolment(account!.id, 'operator');
    await server.services.totp.confirmEnrolment(account!.id, await previousTotpCode(secret));
    const page = await newPage();
    await page.goto(`${server.issuer}/console/`);
    await signInWithPassword(page, operators[role], PASSWORD);
    await page.getByLabel('动态验证码或恢复码').fill(await generate({ secret }));
    await page.getByRole('button', { name: '验证' }).click();
    await page.locator('nav.console-nav').waitFor();
    signedIn.set(role, page);
    return page;
  }

  /** The page at `url`, at both widths: `check` runs on each, and axe-core and the width are checked. */
  async function atBothWidths(page: Page, url: string, name: string, check?: () => Promise<void>) {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await page.goto(url);
      await check?.();
      axeFindings[`${name} @${viewport.name}`] = await axeViolationsOf(page);
      const scroll = await sidewaysScroll(page);
      expect(
        scroll.scrollWidth,
        `${name} at ${viewport.name} px: ${scroll.wide.join(' ')}`,
      ).toBeLessThanOrEqual(scroll.viewport);
    }
  }

  it('用户管理 shows a 法人 account as one: enterprise, masked representative, contact phone, a 实名状态 matching L2', async () => {
    const security = await operator('security');
    await security.goto(`${server.issuer}/console/users`);
    await security.getByLabel('手机号码、身份证号码或统一社会信用代码').fill(CREDIT_CODE);
    await security.getByRole('button', { name: '查找' }).click();
    await security.locator('#account').waitFor();
    const url = security.url();
    expect(url).toContain(`/console/users/${enterprise.accountId}`);
    const { phone, idNumber } = enterprise.representative;
    await atBothWidths(security, url, '用户管理（法人）', async () => {
      expect(await textOf(security, '#user-type')).toBe('法人');
      expect(await textOf(security, '#org-name')).toBe('福建示范有限公司');
      expect(await textOf(security, '#credit-code')).toBe('9135**********0Y43');
      expect(await textOf(security, '#legal-type')).toBe('企业');
      expect(await textOf(security, '#representative')).toBe('陈**');
      expect(await textOf(security, '#representative-id')).toBe(
        `${idNumber.slice(0, 4)}${'*'.repeat(10)}${idNumber.slice(14)}`,
      );
      expect(await textOf(security, '#phone')).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
      expect(await textOf(security, '#level')).toContain('L2');
      expect(await textOf(security, '#real-name')).toContain('已核验');
      const shown = await textOf(security, '#account');
      for (const whole of [CREDIT_CODE, REPRESENTATIVE, idNumber, phone]) expect(shown).not.toContain(whole);
      expect(shown).not.toContain('未实名');
    });
  });

  it('a citizen’s sign-ins read in words: 用户管理, 用户空间 → 登录记录, 审计日志, 统计概览 and the CSV export', async () => {
    // A wrong password, then the right one, at 用户空间.
    const own = await personPage({ width: 1366, height: 768 });
    await own.goto(`${server.issuer}/account/log`);
    await signInWithPassword(own, citizen.phone, 'Wrong#Pass2');
    await own.locator('[role=alert]').waitFor();
    await signInWithPassword(own, citizen.phone, PASSWORD);
    await own.locator('#events').waitFor();
    await own.reload();
    const events = await cellsOf(own, '#events', '事件');
    const methods = await cellsOf(own, '#events', '方式');
    expect(events).toContain('登录');
    expect(methods).toContain('密码');
    for (const text of [...events, ...methods]) expect(text).not.toMatch(CODE);

    const security = await operator('security');
    await security.goto(`${server.issuer}/console/users/${citizen.id}`);
    const signIns = await cellsOf(security, 'table.list', '方式');
    expect(signIns).toContain('密码');
    for (const text of signIns) expect(text).not.toMatch(CODE);
    expect(await textOf(security, '#real-name')).toBe('未实名');

    const audit = await operator('audit');
    await atBothWidths(audit, `${server.issuer}/console/audit`, '审计日志', async () => {
      const types = await cellsOf(audit, '#audit-rows', '事件');
      const actors = await cellsOf(audit, '#audit-rows', '操作者');
      const how = (await cellsOf(audit, '#audit-rows', '方式')).filter(Boolean);
      expect(types).toEqual(expect.arrayContaining(['登录', '新增操作员']));
      expect(actors).toEqual(expect.arrayContaining(['用户本人', '服务器命令行']));
      expect(how).toEqual(expect.arrayContaining(['密码', '密码+动态验证码']));
      for (const text of [...types, ...actors, ...how]) expect(text).not.toMatch(CODE);
    });
    // At 375 px each row is a card: one column wide, each value beside its label.
    const card = audit.locator('#audit-rows tbody tr').first();
    const cells = await card.locator('td').evaluateAll((tds: Element[]) =>
      tds
        .map((td) => td.getBoundingClientRect())
        .filter((box) => box.width > 0)
        .map((box) => Math.round(box.left)),
    );
    expect(new Set(cells).size).toBe(1);
    const label = card.locator('td[data-label="事件"]');
    expect(await label.evaluate((td: Element) => getComputedStyle(td, '::before').content)).toBe('"事件"');

    await audit.setViewportSize({ width: 1366, height: 768 });
    await audit.getByLabel('事件类型').selectOption({ label: '登录' });
    await audit.getByRole('button', { name: '筛选' }).click();
    await audit.waitForURL(/type=login/);
    expect(new Set(await cellsOf(audit, '#audit-rows', '事件'))).toEqual(new Set(['登录']));
    const [download] = await Promise.all([
      audit.waitForEvent('download'),
      audit.getByRole('link', { name: '导出CSV' }).click(),
    ]);
    const [header, ...rows] = readFileSync((await download.path())!, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    const columns = header!.split(',').map((c) => c.replaceAll('"', ''));
    expect(columns.slice(0, 11)).toEqual([
      '序号',
      '时间',
      '事件',
      '事件代码',
      '操作者',
      '操作者代码',
      '账号',
      '方式',
      '方式代码',
      '结果',
      '结果代码',
    ]);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) expect(row).toMatch(/^"\d+","[^"]+","登录","login","用户本人","user",/);

    await atBothWidths(audit, `${server.issuer}/console/stats`, '统计概览', async () => {
      await audit.locator('#sign-ins-by-method-chart svg').first().waitFor();
      const legend = await audit.locator('#sign-ins-by-method thead th').allTextContents();
      expect(legend).toEqual(expect.arrayContaining(['密码', '密码+动态验证码']));
      const levels = await audit.locator('#sign-ins-by-level thead th').allTextContents();
      expect(levels).toContain('未实名用户（L1）');
      const charts = await audit.locator('.chart svg text').allTextContents();
      expect(charts).toContain('密码+动态验证码');
      for (const text of [...legend, ...levels, ...charts.filter((t) => !/^[\d\-:.%]+$/.test(t))])
        expect(text).not.toMatch(CODE);
    });
  });

  it('no console page scrolls sideways at 375 px, for any of the three roles', async () => {
    const pages = {
      security: ['/console/users', `/console/users/${citizen.id}`, '/console/operators'],
      system: ['/console/sites', '/console/sites/new', '/console/keys'],
      audit: ['/console/stats', '/console/audit'],
    };
    const widths: Record<string, number> = {};
    for (const [role, paths] of Object.entries(pages)) {
      const page = await operator(role as keyof typeof operators);
      await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
      if (role === 'system') {
        await page.goto(`${server.issuer}/console/sites`);
        const site = await page.locator('#sites tbody a').first().getAttribute('href');
        paths.push(site!);
      }
      for (const path of paths) {
        await page.goto(`${server.issuer}${path}`);
        const scroll = await sidewaysScroll(page);
        if (scroll.scrollWidth > scroll.viewport) widths[path] = scroll.scrollWidth;
      }
      if (role === 'security') axeFindings['用户管理（自然人）@375'] = await axeViolationsOf(page);
    }
    expect(widths).toEqual({});
  });

  for (const mode of ['standard', 'elder'] as const) {
    it(`no 用户空间 page scrolls sideways at 375 px (${mode === 'elder' ? '长辈模式' : '标准版'})`, async () => {
      const page = await personPage(PHONE);
      // The representative: their 基本信息 lists the enterprise they represent, in a table.
      await page.goto(`${server.issuer}/display?mode=${mode}&back=/account`);
      await signInWithPassword(page, enterprise.representative.phone, PASSWORD);
      await page.getByRole('navigation', { name: '用户空间' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.classList.contains('elder'))).toBe(
        mode === 'elder',
      );
      const widths: Record<string, number> = {};
      for (const path of [
        '',
        '/level',
        '/certificates',
        '/security',
        '/sessions',
        '/sites',
        '/log',
        '/close',
      ]) {
        await page.goto(`${server.issuer}/account${path}`);
        const scroll = await sidewaysScroll(page);
        if (scroll.scrollWidth > scroll.viewport) widths[path || '/'] = scroll.scrollWidth;
        if (['', '/sessions', '/log'].includes(path))
          axeFindings[`用户空间${path || '/'} (${mode}) @375`] = await axeViolationsOf(page);
      }
      expect(widths).toEqual({});
      // The sign-in record is a list of cards, each value with its label.
      await page.goto(`${server.issuer}/account/log`);
      const row = page.locator('#events tbody tr').first();
      const lefts = await row.locator('td').evaluateAll((tds: Element[]) =>
        tds
          .map((td) => td.getBoundingClientRect())
          .filter((box) => box.width > 0)
          .map((box) => Math.round(box.left)),
      );
      expect(new Set(lefts).size).toBe(1);
    });
  }

  it('finds no WCAG 2.1 AA violation on the pages changed here, at either width', () => {
    expect(Object.keys(axeFindings).length).toBeGreaterThanOrEqual(10);
    expect(axeFindings).toEqual(Object.fromEntries(Object.keys(axeFindings).map((k) => [k, []])));
  });
});
