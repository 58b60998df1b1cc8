import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  axeViolationsOf,
  chromiumAvailable,
  DEFAULT_VIEWPORT,
  demoInteractionUrl,
  demoLoginUrl,
  demoServerAndBrowser,
  sharedContext,
  signInWithPassword,
} from '../support/browser.js';
import { addCitizen } from '../support/citizen.js';

// Browser globals, for the functions that run inside the page (this program is built without the DOM library).
// biome-ignore lint/suspicious/noExplicitAny: the page's own objects, typed by the browser, not by us
declare const document: any, window: any, getComputedStyle: any;
// biome-ignore lint/suspicious/noExplicitAny: as above
type Element = any;

const PASSWORD = 'Lao-Ren#2024';

type Mode = 'standard' | 'elder';

/** Elements whose right edge passes the viewport's, and whether the page scrolls sideways. */
async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && box.right > width + 0.5;
      })
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}`);
    if (document.documentElement.scrollWidth > width)
      wide.push(`scrollWidth ${document.documentElement.scrollWidth}`);
    return wide;
  });
}

/** How many lines a button's text takes. */
const linesOf = (page: Page, selector: string, text: string) =>
  page.locator(selector).evaluate((button, shown) => {
    button.textContent = shown;
    const range = document.createRange();
    range.selectNodeContents(button);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  }, text);

describe.skipIf(!chromiumAvailable())('长辈模式 and phone widths', () => {
  const demo = demoServerAndBrowser();
  // The walks with the script on take turns on one browser context, with no cookies at the start.
  const browser = sharedContext(demo);

  /** The public pages of a sign-in, by the path after /interaction/<uid>. */
  const PUBLIC_PAGES = [
    '',
    '?tab=sms',
    '?tab=legal',
    '/register',
    '/register/person',
    '/register/legal',
    '/forgot',
    '/cert/login',
  ];

  async function switchTo(page: Page, mode: Mode) {
    const elder = await page.evaluate(() => document.documentElement.classList.contains('elder'));
    if (elder === (mode === 'elder')) return;
    const before = page.url();
    await page.getByRole('link', { name: mode === 'elder' ? '长辈模式（大字版）' : '标准版' }).click();
    await page.waitForLoadState();
    // The switch comes back to the page it was pressed on.
    expect(page.url()).toBe(before);
  }

  for (const mode of ['standard', 'elder'] as Mode[]) {
    it(`axe-core finds no WCAG 2.1 AA violation on the public pages (${mode})`, async () => {
      await browser.walk(DEFAULT_VIEWPORT, async (page) => {
        const base = await demoInteractionUrl(page, demo.server);
        const found: Record<string, string[]> = {};
        for (const [i, path] of [
          ...PUBLIC_PAGES.map((p) => `${base}${p}`),
          `${demo.server.issuer}/agreement`,
          `${demo.server.issuer}/help/cert-bridge`,
        ].entries()) {
          await page.goto(path);
          // Chosen on the first page; the others must remember it.
          if (i === 0) await switchTo(page, mode);
          expect(await page.evaluate(() => document.documentElement.classList.contains('elder'))).toBe(
            mode === 'elder',
          );
          const violations = await axeViolationsOf(page);
          if (violations.length) found[path] = violations;
        }
        // 实名认证, as a citizen who has just registered in this sign-in sees it.
        const { id } = await addCitizen(demo.server, PASSWORD);
        await demo.server.services.flowStates.put('register', base.split('/interaction/')[1]!, {
          accountId: id,
        });
        await page.goto(`${base}/realname`);
        await page.getByRole('button', { name: '实名认证' }).waitFor();
        const realname = await axeViolationsOf(page);
        if (realname.length) found['/realname'] = realname;
        expect(found).toEqual({});
      });
    });
  }

  for (const mode of ['standard', 'elder'] as Mode[]) {
    it(`axe-core finds no WCAG 2.1 AA violation in 用户空间 and 授权确认 (${mode})`, async () => {
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await browser.walk(DEFAULT_VIEWPORT, async (page) => {
        await page.goto(`${demo.server.issuer}/account`);
        await switchTo(page, mode);
        await signInWithPassword(page, phone, PASSWORD);
        await page.getByRole('navigation', { name: '用户空间' }).waitFor();
        const found: Record<string, string[]> = {};
        const check = async (label: string) => {
          const violations = await axeViolationsOf(page);
          if (violations.length) found[label] = violations;
        };
        for (const path of ['', '/level', '/security', '/sessions', '/sites', '/log', '/close']) {
          await page.goto(`${demo.server.issuer}/account${path}`);
          await check(`/account${path}`);
        }
        // The demo site's sign-in: its consent page, signed in already through 用户空间's session.
        await page.goto(demoLoginUrl(demo.server));
        await page.getByRole('heading', { name: '授权确认' }).waitFor();
        await check('授权确认');
        expect(found).toEqual({});
      });
    });
  }

  it('长辈模式 is remembered, works without JavaScript, and makes text and controls larger', async () => {
    const context: BrowserContext = await demo.browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const base = await demoInteractionUrl(page, demo.server);
    await page.goto(`${base}/register/person`);
    const sizes = () =>
      page.evaluate(() => {
        const px = (el: Element | null) => (el ? Number.parseFloat(getComputedStyle(el).fontSize) : 0);
        return {
          body: px(document.body),
          input: px(document.querySelector('input[type=tel]')),
          buttonHeight: document.querySelector('button')!.getBoundingClientRect().height,
        };
      });
    const standard = await sizes();
    await switchTo(page, 'elder');
    const elder = await sizes();
    expect(elder.body).toBeGreaterThanOrEqual(18);
    expect(elder.input).toBeGreaterThan(standard.input);
    expect(elder.buttonHeight).toBeGreaterThanOrEqual(48);
    // Remembered on the next page, in the cookie.
    await page.goto(`${base}/forgot`);
    expect(await page.evaluate(() => document.documentElement.className)).toBe('elder');
    await switchTo(page, 'standard');
    expect(await page.evaluate(() => document.documentElement.className)).toBe('');
    await context.close();
  });

  it('the switch returns only to a path of this site', async () => {
    for (const back of [
      'https://evil.example/x',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
    ]) {
      const res = await fetch(`${demo.server.issuer}/display?mode=elder&back=${encodeURIComponent(back)}`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!, demo.server.issuer).origin).toBe(
        new URL(demo.server.issuer).origin,
      );
    }
  });

  for (const mode of ['standard', 'elder'] as Mode[]) {
    it(`at 375 px nothing is wider than the screen, and the SMS button keeps to one line (${mode})`, async () => {
      await browser.walk({ width: 375, height: 740 }, async (page) => {
        const base = await demoInteractionUrl(page, demo.server);
        // 注册 last: its SMS button is measured next.
        for (const [i, path] of ['?tab=sms', '/register/legal', '/forgot', '/register/person'].entries()) {
          await page.goto(`${base}${path}`);
          if (i === 0) await switchTo(page, mode);
          expect({ path, wide: await overflowing(page) }).toEqual({ path, wide: [] });
        }
        const sendButton = 'button[value=send_sms]';
        for (const text of ['获取验证码', '60秒后重新发送'])
          expect(await linesOf(page, sendButton, text)).toBe(1);
        expect(await overflowing(page)).toEqual([]);

        // 安全设置 → 更换手机号: nothing squeezed or too wide, and no two fields labelled alike.
        const { phone } = await addCitizen(demo.server, PASSWORD);
        await page.goto(`${demo.server.issuer}/account/security`);
        await signInWithPassword(page, phone, PASSWORD);
        await page.getByRole('heading', { name: '更换手机号' }).waitFor();
        expect(await overflowing(page)).toEqual([]);
        const labels = await page.locator('form[action^="/account/security/phone"] label').allTextContents();
        expect(labels.filter((l) => l.includes('新手机号')).length).toBeGreaterThan(1);
        expect(new Set(labels).size).toBe(labels.length);
        const input = await page.locator('#new_phone').boundingBox();
        expect(input!.width).toBeGreaterThan(150);
      });
    });
  }
});
