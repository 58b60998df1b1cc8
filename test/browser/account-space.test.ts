import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, demoServerAndBrowser, signInWithPassword, textOf } from '../support/browser.js';
import { addCitizen } from '../support/citizen.js';
import { previousTotpCode } from '../support/totp.js';

describe.skipIf(!chromiumAvailable())('用户空间 in a real browser', () => {
  const demo = demoServerAndBrowser();

  it('turns TOTP on, signs in with it at the demo site (mfa), and signs that session out from another', async () => {
    const password = 'Zhu-Ge#2024';
    const { phone } = await addCitizen(demo.server, password);

    // In the account space: 安全设置 → 开启两步验证.
    const home = await demo.browser.newPage();
    await home.goto(`${demo.server.issuer}/account/security`);
    await signInWithPassword(home, phone, password);
    // Turning it on asks for the password again.
    await home.getByLabel('密码', { exact: true }).fill(password);
    await home.getByRole('button', { name: '开启两步验证' }).click();
    const secret = (await textOf(home, '#totp-secret')).trim();
    await home.getByLabel('动态验证码').fill(await previousTotpCode(secret));
    await home.getByRole('button', { name: '确认开启' }).click();
    await expect.poll(() => home.locator('#recovery-codes li').count()).toBe(10);

    // Another browser signs in at the demo site: password, then the code; the site sees mfa.
    const laptop = await demo.browser.newPage();
    await laptop.goto(`${demo.server.issuer}/dev/rp/`);
    await laptop.getByRole('button', { name: '登录' }).click();
    await signInWithPassword(laptop, phone, password);
    await laptop.getByRole('heading', { name: '两步验证' }).waitFor();
    await laptop.getByLabel('动态验证码或恢复码').fill(await generate({ secret }));
    await laptop.getByRole('button', { name: '验证' }).click();
    await laptop.getByRole('button', { name: '同意' }).click();
    expect(await textOf(laptop, '#id-token-claims')).toContain('"acr": "urn:unified-id:acr:mfa"');

    // 登录设备: the first browser signs the laptop out; the demo site hears it by back-channel.
    await home.goto(`${demo.server.issuer}/account/sessions`);
    expect(await home.locator('tbody tr').count()).toBe(2);
    expect(await textOf(home, 'tbody')).toContain('演示网站（开发）');
    await home.locator('tbody tr', { hasNotText: '当前设备' }).getByRole('button', { name: '退出' }).click();
    // The page after the click, not the one before it (which had two rows).
    await expect.poll(() => home.locator('tbody tr').count()).toBe(1);

    await laptop.goto(`${demo.server.issuer}/dev/rp/`);
    expect(await textOf(laptop, '[role=status]')).toContain('后台通道');
    await laptop.getByRole('button', { name: '登录' }).click();
    await laptop.getByLabel('手机号码/身份证号码').waitFor();
  });
});
