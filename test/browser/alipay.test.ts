import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ALIPAY_USERS, type DevAlipayUser } from '../../src/outside/alipay/dev-server.js';
import { type AlipayFake, startAlipayFake } from '../support/alipay.js';
import {
  captchaAnswerIn,
  chromiumAvailable,
  cspViolationsOf,
  demoLoginUrl,
  freshSession,
  launchChromium,
  screenshot,
  signInWithPassword,
  startDemoServer,
  textOf,
  VIEWPORTS,
} from '../support/browser.js';
import { addCitizen, latestSmsCode, randomIdNumber } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';
import type { TestServer } from '../support/server.js';

/** 退出 at the demo site, then 支付宝登录 as `user` alone: the claims of the new sign-in. */
async function signOutThenInWithAlipay(page: Page, user: RegExp): Promise<Record<string, unknown>> {
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('link', { name: '支付宝登录' }).click();
  await page.getByRole('button', { name: user }).click();
  return JSON.parse(await textOf(page, '#id-token-claims')) as Record<string, unknown>;
}

describe.skipIf(!chromiumAvailable())('支付宝登录 in a real browser at the demo site', () => {
  let fake: AlipayFake;
  let server: TestServer;
  let browser: Browser;
  /** The file's one page: each test starts it afresh (no cookies) instead of a new browser context. */
  let shared: Page;

  const PASSWORD = 'Zhi-Fu#2024';
  const LI_NA = DEV_ALIPAY_USERS.find((u) => u.userName === '李娜')!;
  // Certified, whose ID number a citizen registered with a password before ever using Alipay.
  const ZHAO_LIU: DevAlipayUser = {
    userId: '2088000000000046',
    openId: '074aDevZhaoLiu0000000000000000000000000000046',
    nickName: '六六',
    avatar: 'https://tfs.alipayobjects.com/images/partner/dev-zhaoliu',
    userName: '赵六',
    certType: '0',
    certNo: randomIdNumber('19880516'),
    isCertified: true,
    mobile: randomPhone(),
    description: '已实名认证，身份证号已注册',
  };
  /** Certified, without a mobile (as 李娜), or with one (as 张三): one of each per width. */
  const certified = (n: number, mobile: boolean): DevAlipayUser => ({
    userId: `20880000000001${n}`,
    openId: `074aDevForms${'0'.repeat(33)}${n}`,
    nickName: `测试${n}`,
    avatar: 'https://tfs.alipayobjects.com/images/partner/dev-forms',
    userName: n % 2 ? '周七' : '吴八',
    certType: '0',
    certNo: randomIdNumber(`1990010${n % 10}`),
    isCertified: true,
    ...(mobile ? { mobile: randomPhone() } : {}),
    description: `表单测试用户${n}`,
  });
  const NO_MOBILE = VIEWPORTS.map((_, i) => certified(11 + i, false));
  const FOR_REALNAME = VIEWPORTS.map((_, i) => certified(21 + i, true));

  beforeAll(async () => {
    // The test users `unified-id dev-alipay` offers (张三 is certified and has a mobile; 李娜 is
    // certified without one), and one whose ID number already has an account.
    // In certificate mode (公钥证书模式) here; the HTTP suites run both modes.
    fake = await startAlipayFake(
      [...DEV_ALIPAY_USERS, ZHAO_LIU, ...NO_MOBILE, ...FOR_REALNAME],
      'certificate',
    );
    server = await startDemoServer(fake.env);
    browser = await launchChromium();
    shared = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await fake?.alipay.close();
  });

  it('registers through Alipay (支付宝关联注册), signs in at L2 with amr alipay, and signs straight in the next time', async () => {
    const page = await freshSession(shared);
    const cspViolations = cspViolationsOf(page);

    await page.goto(`${server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '支付宝登录' }).click();

    // The (fake) Alipay authorisation page: pick 张三 and agree.
    await page.getByRole('heading', { name: '支付宝登录授权' }).waitFor();
    await page.getByRole('button', { name: /张三/ }).click();

    await page.getByRole('heading', { name: '支付宝关联注册' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('138****8000');
    await page.getByLabel(/我已阅读并同意/).check();
    await page.getByRole('button', { name: '注册并登录' }).click();
    await page.getByRole('button', { name: '同意' }).click();

    const claims = JSON.parse(await textOf(page, '#id-token-claims')) as Record<string, unknown>;
    expect(claims['certification_level']).toBe('L2');
    expect(claims['amr']).toContain('alipay');
    expect(claims['acr']).toBe('urn:unified-id:acr:basic');
    expect(await textOf(page, '#userinfo')).toContain('"name": "张三"');

    // 退出, then Alipay alone signs in to the same account.
    const again = await signOutThenInWithAlipay(page, /张三/);
    expect(again['sub']).toBe(claims['sub']);
    expect(again['amr']).toEqual(['alipay']);
    expect(cspViolations).toEqual([]);
  });

  it('raises a signed-in citizen to L2 with 支付宝认证 in 用户空间, shows the link masked, and unbinds it', async () => {
    const { phone } = await addCitizen(server, PASSWORD);
    const page = await freshSession(shared);
    const cspViolations = cspViolationsOf(page);

    await page.goto(`${server.issuer}/account/level`);
    await signInWithPassword(page, phone, PASSWORD);
    expect(await textOf(page, '#level')).toBe('未实名用户（L1）');
    await page.getByRole('link', { name: '支付宝认证' }).click();
    await page.getByRole('heading', { name: '支付宝登录授权' }).waitFor();
    await page.getByRole('button', { name: /李娜/ }).click();

    expect(await textOf(page, '[role=status]')).toContain('认证等级为 L2');
    await page.goto(`${server.issuer}/account/level`);
    expect(await textOf(page, '#level')).toBe('实名用户（L2）');

    await page.goto(`${server.issuer}/account/security`);
    const masked = `2088********${LI_NA.userId.slice(-4)}`;
    expect(await textOf(page, '#alipay-status')).toContain(`已关联支付宝账户 ${masked}`);
    expect(await page.content()).not.toContain(LI_NA.userId);
    await page.getByRole('button', { name: '解除绑定' }).click();
    expect(await textOf(page, '[role=status]')).toBe('已解除与支付宝账户的绑定');
    expect(await textOf(page, '#alipay-status')).toContain('未关联支付宝账户');
    expect(cspViolations).toEqual([]);
  });

  it('links Alipay to the existing account of the same ID number after its password, then signs in with Alipay alone', async () => {
    const { phone, id } = await addCitizen(server, PASSWORD, {
      realName: ZHAO_LIU.userName!,
      idNumber: ZHAO_LIU.certNo!,
    });
    const page = await freshSession(shared);
    const cspViolations = cspViolationsOf(page);

    await page.goto(demoLoginUrl(server));
    await page.getByRole('link', { name: '支付宝登录' }).click();
    await page.getByRole('button', { name: /赵六/ }).click();

    // One ID number, one account: no second account, but the person's own, after its password.
    await page.getByRole('heading', { name: '关联已有账号' }).waitFor();
    expect(await page.locator('main').textContent()).toContain(`${phone.slice(0, 3)}****${phone.slice(-4)}`);
    await page.getByLabel('密码').fill('Wrong-Pass#1');
    await page.getByRole('button', { name: '登录并关联' }).click();
    expect(await textOf(page, '[role=alert]')).toBe('账号或密码错误');
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录并关联' }).click();
    await page.getByRole('button', { name: '同意' }).click();
    const claims = JSON.parse(await textOf(page, '#id-token-claims')) as Record<string, unknown>;
    expect(claims['sub']).toBe(id);
    expect(claims['certification_level']).toBe('L2');

    const again = await signOutThenInWithAlipay(page, /赵六/);
    expect(again['sub']).toBe(id);
    expect(again['amr']).toEqual(['alipay']);
    expect(cspViolations).toEqual([]);
  });

  it('支付宝关联注册 keeps a typed SMS code when the agreement box was forgotten', async () => {
    for (const [i, viewport] of VIEWPORTS.entries()) {
      const user = NO_MOBILE[i]!;
      const page = await freshSession(shared, viewport);
      await page.goto(demoLoginUrl(server));
      await page.getByRole('link', { name: '支付宝登录' }).click();
      await page.getByRole('button', { name: new RegExp(user.nickName) }).click();
      await page.getByRole('heading', { name: '支付宝关联注册' }).waitFor();
      const phone = randomPhone();
      await page.getByLabel('手机号码').fill(phone);
      await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, server));
      await page.getByRole('button', { name: '获取验证码' }).click();
      await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
      const code = (await latestSmsCode(server, phone))!;
      await page.getByLabel('短信验证码').fill(code);
      await page.getByRole('button', { name: '注册并登录' }).click();
      expect(await textOf(page, 'main .message.error')).toContain('请阅读并同意《用户注册协议》');
      expect(await page.getByLabel('短信验证码').inputValue()).toBe(code);
      expect(await page.getByLabel('手机号码').inputValue()).toBe(phone);
      await screenshot(page, `forms-alipay-agree-${viewport.name}`);
      await page.getByLabel(/我已阅读并同意/).check();
      await page.getByRole('button', { name: '注册并登录' }).click();
      await page.getByRole('button', { name: '同意' }).click();
      expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L2"');
    }
  });

  it('支付宝认证 right after 注册 says 实名认证成功（L2） on the same page as the ID-number path', async () => {
    for (const [i, viewport] of VIEWPORTS.entries()) {
      const user = FOR_REALNAME[i]!;
      const page = await freshSession(shared, viewport);
      await page.goto(demoLoginUrl(server));
      await page.getByRole('link', { name: '注册' }).click();
      await page.getByRole('link', { name: /自然人用户/ }).click();
      const phone = randomPhone();
      await page.getByLabel('手机号码').fill(phone);
      await page.getByLabel('登录密码').fill(PASSWORD);
      await page.getByLabel('确认密码').fill(PASSWORD);
      await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, server));
      await page.getByRole('button', { name: '获取验证码' }).click();
      await page.getByRole('button', { name: /秒后重新发送/ }).waitFor();
      await page.getByLabel('短信验证码').fill((await latestSmsCode(server, phone))!);
      await page.getByLabel(/我已阅读并同意/).check();
      await page.getByRole('button', { name: '注册', exact: true }).click();
      await page.getByRole('link', { name: '支付宝认证' }).click();
      await page.getByRole('button', { name: new RegExp(user.nickName) }).click();
      expect(await textOf(page, 'main')).toContain('实名认证成功！您的认证等级已提升为实名用户（L2）');
      await screenshot(page, `forms-alipay-realname-${viewport.name}`);
      await page.getByRole('link', { name: '继续' }).click();
      await page.getByRole('button', { name: '同意' }).click();
      expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L2"');
    }
  });
});
