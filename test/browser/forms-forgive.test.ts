import type { BrowserContext, Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { creditCodeCheckCharacter } from '../../src/identifiers/credit-code.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import {
  axeViolationsOf,
  captchaAnswerIn,
  chromiumAvailable,
  confirmByCode,
  demoInteractionUrl,
  demoLoginUrl,
  demoServerAndBrowser,
  fillEnterpriseRegistration,
  screenshot,
  sharedContext,
  signInWithPassword,
  smsCodeAfter,
  textOf,
  VIEWPORTS,
} from '../support/browser.js';
import { addCitizen, latestSmsCode, randomIdNumber } from '../support/citizen.js';
import { addEnterprise } from '../support/enterprise.js';

const PASSWORD = 'Bao-Zheng#2024';

type Viewport = (typeof VIEWPORTS)[number];

/**
 * Forms that forgive: each message says what is wrong in words that fit the person reading, and
 * each error state passes axe-core. Walked at a desktop and a phone width; the error states are
 * screenshotted for review.
 */
describe.skipIf(!chromiumAvailable())('forms that forgive, at both widths', () => {
  const demo = demoServerAndBrowser();

  // Every walk of one kind takes its turn on one browser context, with no cookies at the start.
  const scripted = sharedContext(demo);
  const scriptless = sharedContext(demo, { javaScriptEnabled: false });
  const withBrowser = (
    viewport: Viewport,
    walk: (page: Page, context: BrowserContext) => Promise<void>,
    options: { javaScriptEnabled?: boolean } = {},
  ) => (options.javaScriptEnabled === false ? scriptless : scripted).walk(viewport, walk);

  /** An error state: no WCAG 2.1 AA violation, and a screenshot for review. */
  async function errorState(page: Page, name: string) {
    expect(await axeViolationsOf(page)).toEqual([]);
    await screenshot(page, `forms-${name}`);
  }

  /** 用户登录, straight from the demo site's sign-in (its 登录 button's target). */
  const toLogin = async (page: Page) => {
    await page.goto(demoLoginUrl(demo.server));
    await page.getByRole('heading', { name: '用户登录' }).waitFor();
  };

  /** The vertical space between the bottom of one element and the top of the next. */
  const gapBetween = async (above: Locator, below: Locator) => {
    const a = await above.boundingBox();
    const b = await below.boundingBox();
    if (!a || !b) throw new Error('element not shown');
    return b.y - (a.y + a.height);
  };

  const alert = (page: Page) => textOf(page, 'main .message.error[role=alert]');

  it('names the contact phone for what it is: 法人 忘记密码 and CA认证 say 联系手机, not the representative’s', async () => {
    for (const viewport of VIEWPORTS) {
      const creditCode = randomCreditCode();
      const { representative: rep } = await addEnterprise(demo.server, {
        orgName: '开封府示范有限公司',
        creditCode,
        password: PASSWORD,
        representativeName: '包拯',
      });
      await withBrowser(viewport, async (page) => {
        await page.goto(`${await demoInteractionUrl(page, demo.server)}/forgot?tab=legal`);
        expect(await textOf(page, 'form .hint >> nth=0')).toBe(
          '验证码将发送至该法人账号注册时填写的联系手机。',
        );
        await page.getByLabel('统一社会信用代码').fill(creditCode);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await page.getByRole('button', { name: '下一步' }).click();
        expect(await textOf(page, '[role=status]')).toBe(
          '如该账号已注册，验证码已发送至该法人账号登记的联系手机，5分钟内有效。',
        );

        await page.goto(`${demo.server.issuer}/account`);
        await page.getByRole('link', { name: '法人用户登录' }).click();
        await page.getByLabel('统一社会信用代码').fill(creditCode);
        await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
        await page.getByRole('button', { name: '登录' }).click();
        await page.getByRole('heading', { name: '基本信息' }).waitFor();
        await page.goto(`${demo.server.issuer}/account/certificates`);
        const masked = `${rep.phone.slice(0, 3)}****${rep.phone.slice(7)}`;
        expect(await page.locator('main').textContent()).toContain(
          `向注册时填写的联系手机 ${masked} 发送短信验证码`,
        );
        await smsCodeAfter(demo.server, rep.phone, () =>
          page.getByRole('button', { name: '获取验证码' }).click(),
        );
        expect(await textOf(page, '[role=status]')).toContain(`验证码已发送至联系手机 ${masked}`);
        expect(await page.locator('main').textContent()).not.toContain('法定代表人手机');
      });
    }
  });

  it('a citizen’s 授权确认 lists only what a citizen has: no 法人信息', async () => {
    for (const viewport of VIEWPORTS) {
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await withBrowser(viewport, async (page) => {
        // From the demo site's front page, as a person comes to it.
        await page.goto(`${demo.server.issuer}/dev/rp/`);
        await page.getByRole('button', { name: '登录' }).click();
        await signInWithPassword(page, phone, PASSWORD);
        await page.getByRole('heading', { name: '授权确认' }).waitFor();
        const scopes = await page.locator('ul.scopes li').allTextContents();
        expect(scopes).toContain('您的手机号码');
        expect(scopes.join('')).not.toContain('法人');
        await screenshot(page, `forms-consent-citizen-${viewport.name}`);
      });
    }
  });

  // One test per width: both in one ran past the test timeout on a loaded machine.
  it.for(VIEWPORTS)(
    'says what is wrong at $name px: an empty captcha, an expired SMS code, an ID number with a wrong check character',
    async (viewport) => {
      const idNumber = randomIdNumber('19800101');
      const { phone } = await addCitizen(demo.server, PASSWORD, { realName: '包拯', idNumber });
      await withBrowser(viewport, async (page) => {
        await toLogin(page);
        // The check character is public arithmetic: the number is called mistyped, not the password.
        // Neither the right ID check character nor one that would make the 18 characters a valid
        // credit code (digits only can be both), or login would treat it as an enterprise's code.
        const first17 = idNumber.slice(0, 17);
        const wrongCheck =
          first17 +
          [...'0123456789X'].find((c) => c !== idNumber[17] && c !== creditCodeCheckCharacter(first17));
        await signInWithPassword(page, wrongCheck, PASSWORD);
        expect(await alert(page), viewport.name).toBe('身份证号码校验位不正确，请检查后重新输入');
        await errorState(page, `id-check-${viewport.name}`);

        // Three wrong passwords bring the captcha; left empty, it is asked for, not called wrong.
        for (let i = 0; i < 3; i += 1) await signInWithPassword(page, phone, 'Wrong-Pass#1');
        await page.getByLabel('图片验证码').waitFor();
        await signInWithPassword(page, phone, PASSWORD);
        expect(await alert(page)).toBe('请输入图片验证码');
        await errorState(page, `captcha-empty-${viewport.name}`);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await signInWithPassword(page, phone, PASSWORD);
        await page.getByRole('heading', { name: '授权确认' }).waitFor();
      });

      // An SMS code that timed out is called expired, and the way on is the button's own name.
      await withBrowser(viewport, async (page) => {
        await page.goto(`${await demoInteractionUrl(page, demo.server)}/forgot`);
        await page.getByLabel('手机号码').fill(phone);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        const code = await smsCodeAfter(demo.server, phone, () =>
          page.getByRole('button', { name: '下一步' }).click(),
        );
        await demo.server.database
          .db('sms_codes')
          .where('phone', 'like', `%${phone}`)
          .update({ expires_at: new Date(Date.now() - 1000) });
        await page.getByLabel('短信验证码').fill(code);
        await page.getByRole('button', { name: '下一步' }).click();
        expect(await alert(page)).toBe('短信验证码已过期，请点击“重新发送”获取新的验证码');
        await page.getByRole('button', { name: '重新发送' }).waitFor();
        await errorState(page, `sms-expired-${viewport.name}`);
      });
    },
  );

  it('法定代表人确认 says one true sentence about where the code went', async () => {
    for (const viewport of VIEWPORTS) {
      const idNumber = randomIdNumber('19720202');
      const rep = await addCitizen(demo.server, PASSWORD, { realName: '寇准', idNumber });
      await withBrowser(viewport, async (page) => {
        await fillEnterpriseRegistration(page, demo.server, {
          orgName: '华州示范有限公司',
          creditCode: randomCreditCode(),
          repName: '寇准',
          idNumber,
          phone: rep.phone,
          password: PASSWORD,
        });
        // 确认密码 does not sit against 图片验证码.
        expect(
          await gapBetween(page.getByLabel('确认密码'), page.getByText('图片验证码', { exact: true })),
        ).toBeGreaterThanOrEqual(12);
        await confirmByCode(page, demo.server, rep.phone);
        await page.getByRole('button', { name: '实名认证' }).click();
        await page.getByRole('heading', { name: '法定代表人确认' }).waitFor();
        const masked = `${rep.phone.slice(0, 3)}****${rep.phone.slice(7)}`;
        expect(await textOf(page, 'main [role=status]')).toBe(
          `如所填姓名、身份证号码与法定代表人的实名信息一致，验证码已发送至其实名账号绑定的手机 ${masked}（不是注册时填写的联系手机）。`,
        );
        expect(await page.locator('main').textContent()).not.toContain('验证码将发送至');
        await page.getByLabel('短信验证码').fill('000000');
        await page.getByRole('button', { name: '确认注册' }).click();
        await page.locator('main .message.error').waitFor();
        await errorState(page, `representative-wrong-code-${viewport.name}`);
        await page.getByLabel('短信验证码').fill((await latestSmsCode(demo.server, rep.phone))!);
        await page.getByRole('button', { name: '确认注册' }).click();
        await page.getByRole('heading', { name: '绑定证书' }).waitFor();
        // 使用证书文件绑定 and 跳过此步骤 do not touch.
        expect(
          await gapBetween(
            page.getByRole('button', { name: '使用证书文件绑定' }),
            page.getByRole('button', { name: '跳过此步骤' }),
          ),
        ).toBeGreaterThanOrEqual(12);
        await screenshot(page, `forms-bind-buttons-${viewport.name}`);
      });
    }
  });

  it('忘记密码 step 1 again within the minute goes on to the code step: the code sent is still valid', async () => {
    for (const viewport of VIEWPORTS) {
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await withBrowser(viewport, async (page) => {
        const step1 = `${await demoInteractionUrl(page, demo.server)}/forgot`;
        await page.goto(step1);
        await page.getByLabel('手机号码').fill(phone);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        const code = await smsCodeAfter(demo.server, phone, () =>
          page.getByRole('button', { name: '下一步' }).click(),
        );
        await page.getByLabel('短信验证码').waitFor();
        // Back to step 1 (上一步, or a second tab) and on again: no "请在…秒后", no second code.
        await page.goto(step1);
        await page.getByLabel('手机号码').fill(phone);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await page.getByRole('button', { name: '下一步' }).click();
        expect(await textOf(page, 'main [role=status]')).toContain('刚才已向');
        expect(await textOf(page, 'main [role=status]')).toContain('仍在有效期内，请直接输入该验证码');
        await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
        expect(await latestSmsCode(demo.server, phone)).toBe(code);
        await page.getByLabel('短信验证码').fill(code);
        await page.getByRole('button', { name: '下一步' }).click();
        await page.getByLabel('新密码', { exact: true }).waitFor();
      });
    }
  });

  it('更换手机号 shows the lost-phone fields only once 原手机号已丢失 is ticked, with and without the script', async () => {
    for (const viewport of VIEWPORTS) {
      for (const javaScriptEnabled of [true, false]) {
        const { phone } = await addCitizen(demo.server, PASSWORD);
        await withBrowser(
          viewport,
          async (page) => {
            await page.goto(`${demo.server.issuer}/account/security`);
            // Earlier tests' wrong passwords from this address may have brought the captcha.
            await page.getByLabel('手机号码/身份证号码').waitFor();
            if (await page.getByLabel('图片验证码').isVisible())
              await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
            await signInWithPassword(page, phone, PASSWORD);
            await page.getByRole('heading', { name: '更换手机号' }).waitFor();
            const lostFields = [
              '真实姓名（原手机号丢失时填写）',
              '身份证号码（原手机号丢失时填写）',
              '登录密码（原手机号丢失时填写）',
            ];
            for (const label of lostFields) expect(await page.getByLabel(label).isVisible()).toBe(false);
            expect(await page.getByLabel('原手机号验证码').isVisible()).toBe(true);
            await page.getByLabel('原手机号已丢失，改用实名信息验证').check();
            for (const label of lostFields) expect(await page.getByLabel(label).isVisible()).toBe(true);
            expect(await page.getByLabel('原手机号验证码').isVisible()).toBe(false);
            await screenshot(page, `forms-phone-lost-${viewport.name}-${javaScriptEnabled ? 'js' : 'nojs'}`);
          },
          { javaScriptEnabled },
        );
      }
    }
  });

  it('the keyboard reaches a skip link, then 长辈模式 and the 自然人/法人 tabs, before the form', async () => {
    for (const viewport of VIEWPORTS) {
      await withBrowser(viewport, async (page) => {
        await toLogin(page);
        const order: string[] = [];
        for (let i = 0; i < 6; i += 1) {
          await page.keyboard.press('Tab');
          order.push(
            await page.evaluate(() => {
              const el = (
                globalThis as unknown as { document: { activeElement: { textContent: string; id: string } } }
              ).document.activeElement;
              return el.id || el.textContent.trim();
            }),
          );
        }
        expect(order).toEqual([
          '跳到主要内容',
          '统一身份认证平台',
          '长辈模式（大字版）',
          '自然人用户登录',
          '法人用户登录',
          '密码登录',
        ]);
        // The skip link goes to the page's content: the next Tab is inside it.
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Enter');
        // Following the link is a step of its own after the key press: wait for it, not for time.
        await page.waitForURL(/#main$/);
        await errorState(page, `keyboard-${viewport.name}`);
      });
    }
  });

  it('长辈模式: a large grey captcha, 换一张 as a big target, every control at least 44 px', async () => {
    for (const viewport of VIEWPORTS) {
      await withBrowser(viewport, async (page) => {
        await page.goto(`${await demoInteractionUrl(page, demo.server)}/register/person`);
        await page.getByRole('link', { name: '长辈模式（大字版）' }).click();
        // Back on the same form, drawn 长辈模式.
        await page.getByRole('link', { name: '标准版' }).waitFor();
        await page.getByLabel('手机号码').fill('123');
        await page.getByRole('button', { name: '注册', exact: true }).click();
        await page.locator('main .message.error').waitFor();
        const small = await page.evaluate(() => {
          const doc = (
            globalThis as unknown as {
              document: {
                querySelectorAll(s: string): Iterable<{
                  getBoundingClientRect(): { height: number; width: number };
                  outerHTML: string;
                }>;
              };
            }
          ).document;
          const controls = [
            ...doc.querySelectorAll(
              'main button, main input:not([type=hidden]):not([type=checkbox]), main select, main img.captcha, main [data-refresh-link], main .check, .display-switch, main .links a',
            ),
          ];
          return controls
            .filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().height < 44)
            .map((el) => el.outerHTML.slice(0, 80));
        });
        expect(small).toEqual([]);
        const captcha = await page.locator('img.captcha').boundingBox();
        expect(captcha!.height).toBeGreaterThanOrEqual(72);
        // Dark greys only: no colours to tell apart.
        const svg = await (await page.request.get(`${demo.server.issuer}/captcha?t=1`)).text();
        const fills = [...svg.matchAll(/(?:fill|stroke)="(#[0-9a-f]{3,6})"/gi)].map((m) =>
          m[1]!.toLowerCase(),
        );
        expect(fills.length).toBeGreaterThan(0);
        for (const colour of fills) expect(colour).toMatch(/^#([0-9a-f])\1\1$/);
        await errorState(page, `elder-register-${viewport.name}`);
      });
    }
  });
});
