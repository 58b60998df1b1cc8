import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  captchaAnswerIn,
  chromiumAvailable,
  demoLoginUrl,
  demoServerAndBrowser,
  freshSession,
  pageErrorsOf,
  screenshot,
  textOf,
  VIEWPORTS,
} from '../support/browser.js';
import { latestSmsCode } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';

const PASSWORD = 'Zhu-Ge#2024';

describe.skipIf(!chromiumAvailable())('获取验证码 keeps what was typed (注册, top to bottom)', () => {
  const demo = demoServerAndBrowser();

  /** From the demo site's sign-in to the 自然人用户注册 form. */
  async function registrationForm(page: Page) {
    await page.goto(demoLoginUrl(demo.server));
    await page.getByRole('link', { name: '注册' }).click();
    await page.getByRole('link', { name: /自然人用户/ }).click();
    await page.getByRole('heading', { name: '自然人用户注册' }).waitFor();
  }

  /** One page with JavaScript and one without, for all widths: a new context costs Chromium a CPU second. */
  const pages = new Map<boolean, Page>();
  async function pageWith(javaScript: boolean): Promise<Page> {
    let page = pages.get(javaScript);
    if (!page) {
      page = await (await demo.browser.newContext({ javaScriptEnabled: javaScript })).newPage();
      pages.set(javaScript, page);
    }
    return page;
  }

  for (const viewport of VIEWPORTS) {
    for (const javaScript of [true, false]) {
      const label = `${viewport.name}-${javaScript ? 'js' : 'nojs'}`;
      it(`registers at ${viewport.width} px with JavaScript ${javaScript ? 'on' : 'off'}`, async () => {
        const page = await freshSession(await pageWith(javaScript), viewport);
        const errors = pageErrorsOf(page);
        const phone = randomPhone();
        await registrationForm(page);
        const sendButton = page.locator('button[value=send_sms]');

        if (javaScript) {
          // 注册 before 获取验证码: an error, and no countdown, since nothing was sent.
          await page.getByLabel('手机号码').fill(phone);
          await page.getByRole('button', { name: '注册', exact: true }).click();
          await page.locator('[role=alert]').waitFor();
          expect(await sendButton.textContent()).toBe('获取验证码');
          expect(await sendButton.isDisabled()).toBe(false);
          expect(await page.getByLabel('手机号码').inputValue()).toBe(phone);
          await screenshot(page, `register-${label}-0-error-before-sending`);
        }

        // The guide's order: 手机号码, 登录密码, 确认密码, 图片验证码, 获取验证码 …
        await page.getByLabel('手机号码').fill(phone);
        await page.getByLabel('登录密码').fill(PASSWORD);
        await page.getByLabel('确认密码').fill(PASSWORD);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await screenshot(page, `register-${label}-1-filled`);
        await sendButton.click();

        if (javaScript) {
          // Sent in the background: the answer beside the button, the countdown, nothing reloaded.
          expect(await textOf(page, '[data-sms-status]')).toContain('验证码已发送');
          await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
          expect(await sendButton.isDisabled()).toBe(true);
          expect(await page.getByLabel('登录密码').inputValue()).toBe(PASSWORD);
          // The captcha is needed only to re-send: out of the way until then.
          expect(await page.locator('[data-captcha]').isHidden()).toBe(true);
        } else {
          // The page came back: it keeps the phone, and each password field says it must be typed again.
          expect(await textOf(page, '[role=status]')).toContain('验证码已发送');
          for (const name of ['password', 'password_confirm']) {
            expect(await textOf(page, `#${name}-retype`)).toBe('请重新输入密码');
            expect(await page.locator(`#${name}`).getAttribute('aria-describedby')).toContain(
              `${name}-retype`,
            );
          }
          expect(await page.getByLabel('手机号码').inputValue()).toBe(phone);
          expect(await page.getByLabel('登录密码').inputValue()).toBe('');
          expect(await page.getByLabel(/图片验证码/).inputValue()).toBe('');
        }
        await screenshot(page, `register-${label}-2-code-sent`);

        const code = (await latestSmsCode(demo.server, phone))!;
        await page.getByLabel('短信验证码').fill(code);
        if (!javaScript) {
          // A mistake keeps the phone and the still-valid SMS code.
          await page.getByLabel('登录密码').fill(PASSWORD);
          await page.getByLabel('确认密码').fill(`${PASSWORD}x`);
          await page.getByLabel(/我已阅读并同意/).check();
          await page.getByRole('button', { name: '注册', exact: true }).click();
          expect(await textOf(page, '[role=alert]')).toBe('两次输入的密码不一致');
          expect(await page.getByLabel('短信验证码').inputValue()).toBe(code);
          expect(await page.getByLabel('手机号码').inputValue()).toBe(phone);
          expect(await page.getByLabel(/我已阅读并同意/).isChecked()).toBe(true);
          await screenshot(page, `register-${label}-3-mistake-kept`);
          await page.getByLabel('登录密码').fill(PASSWORD);
          await page.getByLabel('确认密码').fill(PASSWORD);
        }
        await page.getByLabel(/我已阅读并同意/).check();
        await page.getByRole('button', { name: '注册', exact: true }).click();

        await page.getByRole('heading', { name: '实名认证' }).waitFor();
        expect(await page.textContent('main')).toContain('注册成功');
        await screenshot(page, `register-${label}-4-registered`);
        expect(errors).toEqual([]);
      });
    }
  }
});
