import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import {
  captchaAnswerIn,
  chromiumAvailable,
  confirmByCode,
  demoInteractionUrl,
  demoServerAndBrowser,
  fillEnterpriseRegistration,
  SCREENSHOT_DIR,
  SCREENSHOTS,
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
const NEW_PASSWORD = 'Hai-Rui#2025';

/**
 * The portal guide's walks through 忘记密码 (自然人 and 法人), 法人注册 and the enterprise's
 * 用户空间 (CA认证 included), at a desktop and a phone width, a screenshot of each step.
 */
describe.skipIf(!chromiumAvailable())('the guide’s walks, step by step, at both widths', () => {
  const demo = demoServerAndBrowser();

  /** The walks' browser profile: each walk starts at its width with no cookies, a fresh session. */
  const browser = sharedContext(demo);

  /** An enterprise under a real-name representative, registered through the service. */
  async function enterprise() {
    const creditCode = randomCreditCode();
    const { representative: rep } = await addEnterprise(demo.server, {
      orgName: '开封府示范有限公司',
      creditCode,
      password: PASSWORD,
      representativeName: '包拯',
    });
    return { rep, creditCode };
  }

  /** The provider's 用户登录, from the demo site's front page as a person comes to it. */
  const toLogin = async (page: Page) => {
    await page.goto(`${demo.server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '用户登录' }).waitFor();
  };

  // One test per width: a test of both widths, on a loaded machine, ran past the test timeout.
  it.for(VIEWPORTS)(
    '忘记密码 (自然人) at $name px: 手机号码 + 图片验证码 → 下一步 → 短信验证码 → 下一步 → 新密码 → 下一步',
    async (viewport) => {
      const shots: string[] = [];
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await browser.walk(viewport, async (page) => {
        const shot = async (step: string) => {
          const name = `forgot-person-${viewport.name}-${step}`;
          await screenshot(page, name);
          shots.push(name);
        };
        await toLogin(page);
        await page.getByRole('link', { name: '忘记密码' }).click();
        await page.getByLabel('手机号码').fill(phone);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await shot('1-phone');
        const code = await smsCodeAfter(demo.server, phone, () =>
          page.getByRole('button', { name: '下一步' }).click(),
        );
        await page.getByLabel('短信验证码').fill(code);
        await shot('2-code');
        await page.getByRole('button', { name: '下一步' }).click();

        // A password the rule refuses: the rule is beside the field, and the step stays.
        expect(await textOf(page, '#password-rule')).toContain('8至64个字符');
        await page.getByLabel('新密码', { exact: true }).fill('12345678');
        await page.getByLabel('确认新密码').fill('12345678');
        await page.getByRole('button', { name: '下一步' }).click();
        await page.locator('[role=alert]').waitFor();
        await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
        await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
        await shot('3-password');
        await page.getByRole('button', { name: '下一步' }).click();

        // Back at 自然人用户登录, the phone filled in.
        expect(await textOf(page, '[role=status]')).toBe('密码已重置，请使用新密码登录');
        expect(await page.getByLabel('手机号码/身份证号码').inputValue()).toBe(phone);
        await shot('4-login');
        await page.getByLabel('密码', { exact: true }).fill(NEW_PASSWORD);
        await page.getByRole('button', { name: '登录' }).click();
        await page.getByRole('button', { name: '同意' }).click();
        await page.locator('#id-token-claims').waitFor();
      });
      // The README shows the phone's first three steps.
      if (viewport.name === '375') await sideBySide(shots.slice(0, 3), 'readme-forgot-steps');
    },
  );

  it.for(VIEWPORTS)(
    '忘记密码 (法人) at $name px: 统一社会信用代码 → the enterprise’s contact phone → the enterprise’s password only',
    async (viewport) => {
      const { rep, creditCode } = await enterprise();
      await browser.walk(viewport, async (page) => {
        await page.goto(`${await demoInteractionUrl(page, demo.server)}/forgot?tab=legal`);
        await page.getByLabel('统一社会信用代码').fill(creditCode);
        await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
        await screenshot(page, `forgot-legal-${viewport.name}-1-credit-code`);
        await page.getByRole('button', { name: '下一步' }).click();
        expect(await textOf(page, '[role=status]')).toContain('联系手机');
        await page.getByLabel('短信验证码').fill((await latestSmsCode(demo.server, rep.phone))!);
        await screenshot(page, `forgot-legal-${viewport.name}-2-code`);
        await page.getByRole('button', { name: '下一步' }).click();
        await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
        await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
        await screenshot(page, `forgot-legal-${viewport.name}-3-password`);
        await page.getByRole('button', { name: '下一步' }).click();

        // Back at 法人用户登录 with the credit code filled in.
        expect(await textOf(page, '[role=status]')).toBe('密码已重置，请使用新密码登录');
        expect(await page.getByLabel('统一社会信用代码').inputValue()).toBe(creditCode);
        await screenshot(page, `forgot-legal-${viewport.name}-4-login`);
      });
      // The representative's own password did not change.
      const representative = await demo.server.services.accounts.findByPhone(`+86${rep.phone}`);
      expect(await demo.server.services.accounts.checkPasswordOf(representative!, PASSWORD)).toBe(true);
    },
  );

  it.for(VIEWPORTS)(
    '法人注册 ends with 实名认证 and a 绑定证书 page that says 注册成功 at $name px',
    async (viewport) => {
      const idNumber = randomIdNumber('19720202');
      const rep = await addCitizen(demo.server, PASSWORD, { realName: '寇准', idNumber });
      await browser.walk(viewport, async (page) => {
        await fillEnterpriseRegistration(page, demo.server, {
          orgName: '华州示范有限公司',
          creditCode: randomCreditCode(),
          repName: '寇准',
          idNumber,
          phone: rep.phone,
          password: PASSWORD,
        });
        expect(await textOf(page, '#password-rule')).toContain('8至64个字符');
        await confirmByCode(page, demo.server, rep.phone);
        await screenshot(page, `register-legal-${viewport.name}-1-form`);
        await page.getByRole('button', { name: '实名认证' }).click();
        // 法定代表人确认: the representative's own real-name phone gets the code (here it is also
        // the contact phone, which had its own code first).
        await page.getByRole('heading', { name: '法定代表人确认' }).waitFor();
        await screenshot(page, `register-legal-${viewport.name}-2-representative`);
        await page.getByLabel('短信验证码').fill((await latestSmsCode(demo.server, rep.phone))!);
        await page.getByRole('button', { name: '确认注册' }).click();
        await page.getByRole('heading', { name: '绑定证书' }).waitFor();
        expect(await textOf(page, '.message.notice[role=status]')).toContain('注册成功');
        await screenshot(page, `register-legal-${viewport.name}-3-registered`);
        await page.getByRole('button', { name: '跳过此步骤' }).click();
        await page.getByRole('button', { name: '同意' }).click();
        expect(await textOf(page, '#id-token-claims')).toContain('"user_type": "legal_person"');
      });
    },
  );

  it.for(VIEWPORTS)(
    '法人 用户空间 at $name px: the enterprise’s 基本信息, then 认证等级 → CA认证 → 短信验证码 → 绑定证书, with the menu and a way back',
    async (viewport) => {
      const { rep, creditCode } = await enterprise();
      await browser.walk(viewport, async (page) => {
        await page.goto(`${demo.server.issuer}/account`);
        await page.getByRole('link', { name: '法人用户登录' }).click();
        await page.getByLabel('统一社会信用代码').fill(creditCode);
        await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
        await page.getByRole('button', { name: '登录' }).click();
        await page.getByRole('heading', { name: '基本信息' }).waitFor();
        expect(await textOf(page, '#org-name')).toBe('开封府示范有限公司');
        expect(await textOf(page, '#level')).toBe('实名用户（L2）');
        await screenshot(page, `legal-space-${viewport.name}-1-profile`);

        await page.getByRole('link', { name: '认证等级' }).click();
        await page.getByRole('link', { name: 'CA认证' }).click();
        const caCode = await smsCodeAfter(demo.server, rep.phone, () =>
          page.getByRole('button', { name: '获取验证码' }).click(),
        );
        await page.getByLabel('短信验证码').fill(caCode);
        await screenshot(page, `legal-space-${viewport.name}-2-ca-code`);
        await page.getByRole('button', { name: '下一步' }).click();
        await page.getByRole('heading', { name: '绑定证书' }).waitFor();
        // Reloading keeps the verified step; the menu and the way back are there.
        await page.reload();
        await page.getByRole('heading', { name: '绑定证书' }).waitFor();
        await page.getByRole('navigation', { name: '用户空间' }).waitFor();
        await screenshot(page, `legal-space-${viewport.name}-3-bind`);
        await page.getByRole('link', { name: '← 返回CA认证' }).click();
        await page.getByRole('heading', { name: '高级认证 · CA认证' }).waitFor();
      });
    },
  );

  it.for(VIEWPORTS)(
    'a citizen hears that 实名认证 succeeded, and an L1 citizen’s 基本信息 offers 去认证 at $name px',
    async (viewport) => {
      const { phone } = await addCitizen(demo.server, PASSWORD);
      await browser.walk(viewport, async (page) => {
        await page.goto(`${demo.server.issuer}/account`);
        await signInWithPassword(page, phone, PASSWORD);
        expect(await textOf(page, '#level')).toContain('未实名用户（L1）');
        await screenshot(page, `citizen-space-${viewport.name}-1-profile`);
        await page.getByRole('link', { name: '去认证' }).click();
        const code = await smsCodeAfter(demo.server, phone, () =>
          page.getByRole('button', { name: '获取验证码' }).click(),
        );
        await page.getByLabel('短信验证码').fill(code);
        await page.getByRole('button', { name: '下一步' }).click();
        await page.getByLabel('真实姓名').fill('范仲淹');
        await page.getByLabel('身份证号码').fill(randomIdNumber('19890909'));
        await page.getByRole('button', { name: '实名认证' }).click();
        expect(await textOf(page, '[role=status]')).toContain(
          '实名认证成功！您的认证等级已提升为实名用户（L2）',
        );
        await screenshot(page, `citizen-space-${viewport.name}-2-verified`);
      });
    },
  );

  /** Screenshots side by side in one picture (the README's 忘记密码 steps). */
  async function sideBySide(names: string[], out: string) {
    if (!SCREENSHOTS) return; // made of the steps' pictures, which this run did not take
    const page = await demo.browser.newPage({
      viewport: { width: 375 * names.length + 16 * (names.length + 1), height: 800 },
    });
    try {
      const images = names
        .map((n) => readFileSync(`${SCREENSHOT_DIR}/${n}.png`).toString('base64'))
        .map((b) => `<img src="data:image/png;base64,${b}" style="width:375px;align-self:flex-start">`)
        .join('');
      await page.setContent(
        `<body style="margin:0;padding:16px;display:flex;gap:16px;background:#dde3ea">${images}</body>`,
      );
      await screenshot(page, out);
    } finally {
      await page.close();
    }
  }
});
