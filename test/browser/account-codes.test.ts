import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  captchaAnswerIn,
  chromiumAvailable,
  demoServerAndBrowser,
  freshSession,
  pageErrorsOf,
  screenshot,
  signInWithPassword,
  textOf,
  VIEWPORTS,
} from '../support/browser.js';
import { addCitizen, latestSmsCode, smsOutbox } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';

const PASSWORD = 'Fan-Zhongyan#2024';

describe.skipIf(!chromiumAvailable())('用户空间: 获取验证码 keeps what was typed and counts down', () => {
  const demo = demoServerAndBrowser();

  const RUNS = [
    ...VIEWPORTS.map((viewport) => ({ viewport, javaScript: true })),
    { viewport: VIEWPORTS[1], javaScript: false },
  ];

  /**
   * One page with JavaScript and one without, each started afresh (no session) at the width of the
   * test: a new browser context per test would cost Chromium a CPU second each.
   */
  const pages = new Map<boolean, Page>();
  async function openPage(viewport: { width: number; height: number }, javaScript: boolean) {
    let page = pages.get(javaScript);
    if (!page) {
      const context = await demo.browser.newContext({ javaScriptEnabled: javaScript });
      page = await context.newPage();
      pages.set(javaScript, page);
    }
    await freshSession(page, viewport);
    return { page, errors: pageErrorsOf(page) };
  }

  async function signedIn(page: Page, path: string, phone: string) {
    await page.goto(`${demo.server.issuer}${path}`);
    await signInWithPassword(page, phone, PASSWORD);
  }

  for (const { viewport, javaScript } of RUNS) {
    const label = `${viewport.name}-${javaScript ? 'js' : 'nojs'}`;

    it(`安全设置 → 更换手机号 at ${viewport.width} px, JavaScript ${javaScript ? 'on' : 'off'}`, async () => {
      const { page, errors } = await openPage(viewport, javaScript);
      const { phone } = await addCitizen(demo.server, PASSWORD);
      const next = randomPhone();
      await signedIn(page, '/account/security', phone);
      await page.getByRole('heading', { name: '更换手机号' }).waitFor();
      const oldSend = page.locator('button[name=which][value=old]');
      const newSend = page.locator('button[name=which][value=new]');

      // The new number first, then the code to the old phone: the number stays.
      await page.getByLabel('新手机号', { exact: true }).fill(next);
      await oldSend.click();
      if (javaScript) {
        expect(await textOf(page, '[data-sms-status]')).toContain(`验证码已发送至 ${phone.slice(0, 3)}****`);
        await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
        expect(await oldSend.isDisabled()).toBe(true);
        // The new phone's 获取验证码 is not held back by the old phone's code.
        expect(await newSend.isDisabled()).toBe(false);
      } else {
        expect(await textOf(page, '[role=status]')).toContain(`验证码已发送至 ${phone.slice(0, 3)}****`);
        expect(await oldSend.textContent()).toBe('重新发送');
      }
      expect(await page.getByLabel('新手机号', { exact: true }).inputValue()).toBe(next);
      await screenshot(page, `security-phone-${label}-1-old-code-sent`);

      const oldCode = (await latestSmsCode(demo.server, phone))!;
      await page.getByLabel('原手机号验证码').fill(oldCode);
      await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
      await newSend.click();
      if (javaScript) {
        await page.getByText(`验证码已发送至 ${next.slice(0, 3)}****`).waitFor();
        expect(await newSend.isDisabled()).toBe(true);
        expect(await oldSend.isDisabled()).toBe(true);
      } else {
        expect(await textOf(page, '[role=status]')).toContain(`验证码已发送至 ${next.slice(0, 3)}****`);
      }
      expect(await page.getByLabel('原手机号验证码').inputValue()).toBe(oldCode);
      expect(await page.getByLabel('新手机号', { exact: true }).inputValue()).toBe(next);
      await screenshot(page, `security-phone-${label}-2-new-code-sent`);

      await page.getByLabel('新手机号验证码').fill((await latestSmsCode(demo.server, next))!);
      await page.getByRole('button', { name: '更换手机号' }).click();
      expect(await textOf(page, '[role=status]')).toBe('修改成功');
      expect(await demo.server.services.accounts.findByPhone(`+86${next}`)).toBeDefined();
      expect(errors).toEqual([]);
    });

    it(`注销账号's 获取验证码 at ${viewport.width} px, JavaScript ${javaScript ? 'on' : 'off'}`, async () => {
      const { page, errors } = await openPage(viewport, javaScript);
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await signedIn(page, '/account/close', phone);
      await page.getByRole('heading', { name: '注销账号' }).waitFor();
      const send = page.getByRole('button', { name: '获取验证码' });
      // Nothing was sent yet: no countdown.
      expect(await send.isDisabled()).toBe(false);
      await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
      await send.click();
      if (javaScript) {
        expect(await textOf(page, '[data-sms-status]')).toContain('验证码已发送');
        await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
        // Sent in the background: the password is still there.
        expect(await page.getByLabel('密码', { exact: true }).inputValue()).toBe(PASSWORD);
        // A reload counts on from when the code went, not from zero, and does not send again.
        const outbox = async () => (await smsOutbox(demo.server, phone)).length;
        const sentBefore = await outbox();
        await page.reload();
        await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
        expect(await outbox()).toBe(sentBefore);
      } else {
        expect(await textOf(page, '[role=status]')).toContain('验证码已发送');
        expect(page.url()).toContain('/account/close');
      }
      await screenshot(page, `close-${label}-1-code-sent`);
      await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
      await page.getByLabel(/短信验证码/).fill((await latestSmsCode(demo.server, phone))!);
      await page.getByRole('button', { name: '确认注销' }).click();
      await page.getByText('您的账号已注销').waitFor();
      expect(errors).toEqual([]);
    });
  }
});
