import { describe, expect, it } from 'vitest';
import {
  captchaAnswerIn,
  chromiumAvailable,
  demoServerAndBrowser,
  signInWithPassword,
  smsCodeAfter,
  textOf,
} from '../support/browser.js';
import { latestSmsCode, randomIdNumber } from '../support/citizen.js';
import { randomPhone } from '../support/relying-party.js';

describe.skipIf(!chromiumAvailable())('a new citizen in a real browser', () => {
  const demo = demoServerAndBrowser();

  it('registers, verifies, signs out, resets the password, signs in by ID number, and is stepped up', async () => {
    const phone = randomPhone();
    const idNumber = randomIdNumber('19920815');
    const password = 'Liu-Bei#2024';
    const page = await demo.browser.newPage();

    // 注册 from the demo site's sign-in.
    await page.goto(`${demo.server.issuer}/dev/rp/`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '注册' }).click();
    await page.getByRole('link', { name: /自然人用户/ }).click();
    await page.getByLabel('手机号码').fill(phone);
    await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
    await page.getByRole('button', { name: '获取验证码' }).click();
    expect(await textOf(page, '[role=status]')).toContain('验证码已发送');
    // The script counts down before a re-send is allowed.
    expect(await page.getByRole('button', { name: /秒后重新发送/ }).isDisabled()).toBe(true);
    await page.getByLabel('短信验证码').fill((await latestSmsCode(demo.server, phone))!);
    await page.getByLabel('登录密码').fill(password);
    await page.getByLabel('确认密码').fill(password);
    await page.getByLabel(/我已阅读并同意/).check();
    await page.getByRole('button', { name: '注册' }).click();

    // 实名认证, then consent, then back at the site at L2.
    await page.getByLabel('真实姓名').fill('刘备');
    await page.getByLabel('身份证号码').fill(idNumber);
    await page.getByRole('button', { name: '实名认证' }).click();
    expect(await textOf(page, '[role=status]')).toContain('实名认证成功');
    await page.getByRole('link', { name: '继续' }).click();
    await page.getByRole('button', { name: '同意' }).click();
    expect(await textOf(page, '#id-token-claims')).toContain('"certification_level": "L2"');

    // 退出.
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByRole('button', { name: '退出登录' }).click();

    // 忘记密码 → reset.
    const newPassword = 'Guan-Yu#2025';
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '忘记密码' }).click();
    await page.getByLabel('手机号码').fill(phone);
    await page.getByLabel('图片验证码').fill(await captchaAnswerIn(page, demo.server));
    const resetCode = await smsCodeAfter(demo.server, phone, () =>
      page.getByRole('button', { name: '下一步' }).click(),
    );
    await page.getByLabel('短信验证码').fill(resetCode);
    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByLabel('新密码', { exact: true }).fill(newPassword);
    await page.getByLabel('确认新密码').fill(newPassword);
    await page.getByRole('button', { name: '下一步' }).click();
    expect(await textOf(page, '[role=status]')).toBe('密码已重置，请使用新密码登录');

    // Sign in by ID number with the new password.
    await signInWithPassword(page, idNumber, newPassword);
    expect(await textOf(page, '#id-token-claims')).toContain('"acr": "urn:unified-id:acr:basic"');

    // A site asking for mfa: the signed-in citizen is stepped up with an SMS code.
    await page.getByRole('button', { name: '退出' }).waitFor();
    await page.goto(
      `${demo.server.issuer}/dev/rp/login?acr_values=${encodeURIComponent('urn:unified-id:acr:mfa')}`,
    );
    await page.getByRole('heading', { name: '安全验证' }).waitFor();
    const stepUpCode = await smsCodeAfter(demo.server, phone, () =>
      page.getByRole('button', { name: '获取验证码' }).click(),
    );
    await page.getByLabel('短信验证码').fill(stepUpCode);
    await page.getByRole('button', { name: '验证' }).click();
    const claims = await textOf(page, '#id-token-claims');
    expect(claims).toContain('"acr": "urn:unified-id:acr:mfa"');
    expect(claims).toContain('"mfa"');
  });
});
