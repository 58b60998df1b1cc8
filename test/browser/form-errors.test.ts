import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import {
  axeViolationsOf,
  captchaAnswerIn,
  chromiumAvailable,
  demoInteractionUrl,
  demoServerAndBrowser,
  screenshot,
  sharedContext,
  signInWithPassword,
  smsCodeAfter,
  VIEWPORTS,
} from '../support/browser.js';
import { addCitizen, randomIdNumber } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';

const PASSWORD = 'Bao-Zheng#2024';
/** Keeps every rule a browser can check, but is on the server's list of common passwords. */
const COMMON_PASSWORD = 'password123';

type Viewport = (typeof VIEWPORTS)[number];

/** What a person (and a screen reader) meets at one field: its mark, its message, its notes. */
async function fieldState(page: Page, id: string) {
  const input = page.locator(`#${id}`);
  const describedBy = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const texts: string[] = [];
  for (const ref of describedBy) {
    const described = page.locator(`#${ref}`);
    if (await described.count()) texts.push(((await described.textContent()) ?? '').trim());
  }
  return { invalid: await input.getAttribute('aria-invalid'), describedBy, texts };
}

/** The summary at the top: each link's words and the field it leads to. */
async function summaryOf(page: Page) {
  const summary = page.locator('main [data-error-summary][role=alert]');
  await summary.waitFor();
  const links = summary.locator('a');
  const items: { text: string; href: string | null }[] = [];
  for (let i = 0; i < (await links.count()); i++) {
    items.push({
      text: (await links.nth(i).textContent()) ?? '',
      href: await links.nth(i).getAttribute('href'),
    });
  }
  return items;
}

/**
 * Every error of a submit at once, each beside its field (aria-invalid, aria-describedby) and in a
 * summary at the top that links to the fields (WCAG 3.3.1, 3.3.3); focus on the first; a cleared
 * password field says so; the public rules checked in the browser before a round trip, and by the
 * server all the same.
 */
describe.skipIf(!chromiumAvailable())('form errors, all at once and on their fields, at both widths', () => {
  const demo = demoServerAndBrowser();

  // The walks with the script and those without each take their turns on one browser context,
  // with no cookies at the start.
  const scripted = sharedContext(demo);
  const scriptless = sharedContext(demo, { javaScriptEnabled: false });
  const withBrowser = (viewport: Viewport, javaScriptEnabled: boolean, walk: (page: Page) => Promise<void>) =>
    (javaScriptEnabled ? scripted : scriptless).walk(viewport, walk);

  /** A page with the script on, at the site's origin, where a page drawn without it is checked. */
  let checker: Page | undefined;
  afterAll(async () => {
    await checker?.context().close();
  });

  /**
   * An error state: no WCAG 2.1 AA violation, and a screenshot. axe-core needs a script, so a page
   * drawn with the script off is checked as drawn: its HTML, without scripts, in a page that runs one.
   */
  async function errorState(page: Page, name: string, scriptOff = false) {
    let checked = page;
    if (scriptOff) {
      const html = (await page.content()).replace(/<script\b[^>]*>[^<]*<\/script>/g, '');
      if (!checker) {
        checker = await demo.browser.newPage();
        // Same origin, so the page's stylesheet loads as it did.
        await checker.goto(`${demo.server.issuer}/agreement`);
      }
      await checker.setViewportSize(page.viewportSize()!);
      await checker.setContent(html);
      checked = checker;
    }
    expect(await axeViolationsOf(checked)).toEqual([]);
    await screenshot(page, `forms-${name}`);
  }

  const focusedId = (page: Page) =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document
          .activeElement?.id ?? '',
    );

  /** POSTs to `path` from now on: a check made in the browser sends none. */
  function postsTo(page: Page, path: RegExp): string[] {
    const posts: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && path.test(new URL(req.url()).pathname)) posts.push(req.url());
    });
    return posts;
  }

  /** From the demo site's front page to a registration form, as a person comes to it. */
  const walkToRegistration = async (page: Page, which: RegExp) => {
    await page.goto(`${demo.server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '注册' }).click();
    await page.getByRole('link', { name: which }).click();
  };

  /** The same form, straight from the demo site's sign-in: `path` after /interaction/<uid>. */
  const toRegistration = async (page: Page, path: '/register/person' | '/register/legal') => {
    await page.goto(`${await demoInteractionUrl(page, demo.server)}${path}`);
  };

  for (const viewport of VIEWPORTS) {
    for (const javaScript of [true, false]) {
      const label = `${viewport.name}-${javaScript ? 'js' : 'nojs'}`;

      it(`注册 at ${viewport.width} px, script ${javaScript ? 'on' : 'off'}: a weak password and a wrong SMS code in one submit, both on their fields`, async () => {
        await withBrowser(viewport, javaScript, async (page) => {
          const phone = randomPhone();
          // One walk comes from the demo site as a person would; the others go straight there.
          if (viewport === VIEWPORTS[0] && javaScript) await walkToRegistration(page, /自然人用户/);
          else await toRegistration(page, '/register/person');
          if (javaScript) {
            // 获取验证码 for a number that can not be one: told beside it, nothing sent.
            const posts = postsTo(page, /\/register\/person$/);
            await page.getByLabel('手机号码').fill('1381234');
            await page.getByRole('button', { name: '获取验证码' }).click();
            expect(await summaryOf(page)).toEqual([{ text: '请输入正确的手机号码', href: '#phone' }]);
            expect(await fieldState(page, 'phone')).toEqual({
              invalid: 'true',
              describedBy: ['phone-error'],
              texts: ['请输入正确的手机号码'],
            });
            expect(await focusedId(page)).toBe('phone');
            expect(posts).toEqual([]);
            await errorState(page, `register-phone-${label}`);
          }
          await page.getByLabel('手机号码').fill(phone);
          await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
          const code = await smsCodeAfter(demo.server, phone, () =>
            page.getByRole('button', { name: '获取验证码' }).click(),
          );
          if (!javaScript) await page.getByRole('heading', { name: '自然人用户注册' }).waitFor();
          // With the script, a password the browser would refuse never leaves it: the server's
          // own rule (a common password) is what the round trip finds. Without it, any weak one.
          const weak = javaScript ? COMMON_PASSWORD : 'abcdefgh';
          const weakMessage = javaScript
            ? '该密码过于常见，请换一个'
            : '密码须包含数字、字母、符号中的至少两类';
          await page.getByLabel('登录密码').fill(weak);
          await page.getByLabel('确认密码').fill(weak);
          await page.getByLabel('短信验证码').fill(code === '000000' ? '111111' : '000000');
          await page.getByLabel(/我已阅读并同意/).check();
          await page.getByRole('button', { name: '注册', exact: true }).click();

          expect(await summaryOf(page)).toEqual([
            { text: weakMessage, href: '#password' },
            { text: '短信验证码错误或已过期', href: '#sms_code' },
          ]);
          expect(await fieldState(page, 'password')).toEqual({
            invalid: 'true',
            describedBy: ['password-error', 'password-retype', 'password-rule'],
            texts: [weakMessage, '请重新输入密码', expect.stringContaining('8至64个字符')],
          });
          expect(await fieldState(page, 'password_confirm')).toEqual({
            invalid: null,
            describedBy: ['password_confirm-retype'],
            texts: ['请重新输入密码'],
          });
          expect(await fieldState(page, 'sms_code')).toEqual({
            invalid: 'true',
            describedBy: ['sms_code-error'],
            texts: ['短信验证码错误或已过期'],
          });
          // Each message stands right below its field.
          expect(await page.locator('.captcha-row:has(#sms_code) + p.field-error').count()).toBe(1);
          expect(await page.locator('#password + p.field-error').count()).toBe(1);
          // Kept: the phone and the box; cleared: the passwords (said beside them) and the wrong code.
          expect(await page.getByLabel('手机号码').inputValue()).toBe(phone);
          expect(await page.getByLabel(/我已阅读并同意/).isChecked()).toBe(true);
          expect(await page.getByLabel('登录密码').inputValue()).toBe('');
          expect(await page.getByLabel('短信验证码').inputValue()).toBe('');
          if (javaScript) expect(await focusedId(page)).toBe('password');
          // Without the script the summary comes first: before the form in the page's order.
          else expect(await page.locator('main [data-error-summary] ~ form').count()).toBe(1);
          await errorState(page, `register-two-errors-${label}`, !javaScript);

          // The right code was not used up by the refused submit: it still registers.
          await page.getByLabel('登录密码').fill(PASSWORD);
          await page.getByLabel('确认密码').fill(PASSWORD);
          await page.getByLabel('短信验证码').fill(code);
          await page.getByRole('button', { name: '注册', exact: true }).click();
          await page.getByRole('heading', { name: '实名认证' }).waitFor();
        });
      });

      it(`法人注册 at ${viewport.width} px, script ${javaScript ? 'on' : 'off'}: a wrong credit code, ID number, phone and password match, told at once`, async () => {
        await withBrowser(viewport, javaScript, async (page) => {
          await toRegistration(page, '/register/legal');
          const posts = postsTo(page, /\/register\/legal$/);
          const code = randomCreditCode();
          const id = randomIdNumber('19700101');
          const wrongLast = (value: string) => value.slice(0, 17) + (value[17] === '1' ? '2' : '1');
          await page.getByLabel('法人类型').selectOption('enterprise');
          await page.getByLabel('企业名称/机构名称').fill('陈州示范有限公司');
          await page.getByLabel('统一社会信用代码').fill(wrongLast(code));
          await page.getByLabel('法定代表人姓名').fill('包拯');
          await page.getByLabel('法定代表人身份证号码').fill(wrongLast(id));
          await page.getByLabel('联系手机号码').fill('1381234567');
          await page.getByLabel('登录密码').fill(PASSWORD);
          await page.getByLabel('确认密码').fill(`${PASSWORD}x`);
          await page.getByLabel(/我已阅读并同意/).check();
          await page.getByRole('button', { name: '实名认证' }).click();

          const expected = [
            { text: '统一社会信用代码校验位不正确', href: '#credit_code' },
            { text: '身份证号码校验位不正确', href: '#representative_id_number' },
            { text: '请输入正确的手机号码', href: '#phone' },
            { text: '两次输入的密码不一致', href: '#password_confirm' },
          ];
          if (javaScript) {
            // Public arithmetic, checked before anything is sent; the rest waits for the server.
            expect(await summaryOf(page)).toEqual(expected);
            expect(posts).toEqual([]);
            expect(await focusedId(page)).toBe('credit_code');
            // Nothing typed is lost, the passwords included: nothing was sent.
            expect(await page.getByLabel('登录密码').inputValue()).toBe(PASSWORD);
          } else {
            // The server finds the same, all in one round trip, and the empty SMS code besides.
            expect(await summaryOf(page)).toEqual([
              ...expected,
              { text: '请输入短信验证码', href: '#sms_code' },
            ]);
            expect(posts).toHaveLength(1);
            expect(await fieldState(page, 'password')).toMatchObject({
              texts: ['请重新输入密码', expect.any(String)],
            });
          }
          for (const { href, text } of expected) {
            const state = await fieldState(page, href.slice(1));
            expect(state.invalid, href).toBe('true');
            expect(state.texts[0], href).toBe(text);
          }
          // Kept as typed.
          expect(await page.getByLabel('统一社会信用代码').inputValue()).toBe(wrongLast(code));
          expect(await page.getByLabel('法定代表人身份证号码').inputValue()).toBe(wrongLast(id));
          expect(await page.getByLabel('联系手机号码').inputValue()).toBe('1381234567');
          await errorState(page, `legal-four-errors-${label}`, !javaScript);

          if (javaScript) {
            // Put right, a field loses its mark at the next try; the others keep theirs.
            await page.getByLabel('统一社会信用代码').fill(code);
            await page.getByRole('button', { name: '实名认证' }).click();
            expect((await summaryOf(page)).map((p) => p.href)).toEqual([
              '#representative_id_number',
              '#phone',
              '#password_confirm',
            ]);
            expect((await fieldState(page, 'credit_code')).invalid).toBeNull();
            expect(posts).toEqual([]);
          }
        });
      });
    }

    it(`安全设置 → 修改密码 at ${viewport.width} px: a wrong current password and a common new one, both told, every password field says to type it again`, async () => {
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await withBrowser(viewport, true, async (page) => {
        await page.goto(`${demo.server.issuer}/account/security`);
        await signInWithPassword(page, phone, PASSWORD);
        await page.getByRole('heading', { name: '修改密码' }).waitFor();
        await page.getByLabel('当前密码').fill('Not-The-Password#1');
        await page.getByLabel('新密码', { exact: true }).fill(COMMON_PASSWORD);
        await page.getByLabel('确认新密码').fill(COMMON_PASSWORD);
        await page.getByRole('button', { name: '修改密码' }).click();
        expect(await summaryOf(page)).toEqual([
          { text: '当前密码错误', href: '#current_password' },
          { text: '该密码过于常见，请换一个', href: '#new_password' },
        ]);
        expect(await focusedId(page)).toBe('current_password');
        for (const id of ['current_password', 'new_password', 'new_password_confirm'])
          expect((await fieldState(page, id)).texts, id).toContain('请重新输入密码');
        await errorState(page, `security-password-${viewport.name}`);

        // Mismatched new passwords never leave the browser.
        const posts = postsTo(page, /\/account\/security\/password$/);
        await page.getByLabel('当前密码').fill(PASSWORD);
        await page.getByLabel('新密码', { exact: true }).fill('Wen-Tian#2025');
        await page.getByLabel('确认新密码').fill('Wen-Tian#2026');
        await page.getByRole('button', { name: '修改密码' }).click();
        expect(await summaryOf(page)).toEqual([
          { text: '两次输入的密码不一致', href: '#new_password_confirm' },
        ]);
        expect(posts).toEqual([]);
      });
    });
  }
});
