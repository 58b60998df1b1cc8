import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captchaAnswer,
  continueFrom,
  latestSmsCode,
  messageOf,
  randomIdNumber,
  smsOutbox,
  solveCaptcha,
  submit,
} from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  randomPhone,
  registerRelyingParty,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Sun-Qi#2024';

describe.each(databaseKinds())('注册 and 实名认证 of a citizen (%s)', (kind) => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    rp = await registerRelyingParty(server, { scopes: ['openid', 'profile', 'phone', 'identity'] });
  });
  afterAll(() => server?.close());

  /** From the site's login page to the registration form, with an SMS code sent for `phone`. */
  async function registrationForm(ua: UserAgent, phone: string) {
    const start = await beginAuthorization(ua, rp, { scope: 'openid profile phone identity' });
    const choose = await ua.get(new URL(/href="([^"]+\/register)"/.exec(start.page.body)![1]!, server.url));
    expect(choose.body).toContain('自然人用户');
    const form = await ua.get(new URL(/href="([^"]+\/register\/person)"/.exec(choose.body)![1]!, server.url));
    const answer = await solveCaptcha(ua, server, form);
    const sent = await submit(ua, form, '/register/person', { phone, captcha: answer, action: 'send_sms' });
    return { start, sent };
  }

  async function register(ua: UserAgent, phone: string) {
    const { start, sent } = await registrationForm(ua, phone);
    expect(messageOf(sent)).toContain('验证码已发送');
    const code = await latestSmsCode(server, phone);
    const realname = await submit(ua, sent, '/register/person', {
      phone,
      password: PASSWORD,
      password_confirm: PASSWORD,
      sms_code: code!,
      agree: 'yes',
      action: 'register',
    });
    return { start, realname };
  }

  it('registers, verifies the real name, and lands back at the site at level L2', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { start, realname } = await register(ua, phone);
    expect(realname.body).toContain('实名认证');
    expect(realname.body).toContain('开发模式');
    const idNumber = randomIdNumber();
    const verified = await submit(ua, realname, '/realname', {
      real_name: '孙七',
      id_number: idNumber.toLowerCase(),
    });
    // 实名认证 says it succeeded, and what the sites now see, before going on.
    expect(messageOf(verified)).toContain('实名认证成功！您的认证等级已提升为实名用户（L2）');
    const done = await continueFrom(ua, verified, rp.redirectUri);
    const { tokens } = await completeAuthorization(ua, rp, start, done);
    const claims = tokens!.claims()!;
    expect(claims['certification_level']).toBe('L2');
    expect(claims['user_type']).toBe('natural_person');
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens!.access_token, claims.sub);
    expect(userinfo['name']).toBe('孙七');
    expect(userinfo['id_number']).toBe(idNumber.toUpperCase());
    expect(userinfo['phone_number']).toBe(`+86${phone}`);

    // At rest the name and ID number are sealed, and looked up by a keyed hash.
    const row = await server.database
      .db('accounts')
      .where({ phone: `+86${phone}` })
      .first();
    expect(row.real_name).not.toContain('孙');
    expect(row.id_number).not.toContain(idNumber.slice(0, 6));
    expect(row.id_number_hash).toBeTruthy();

    // Then the ID number signs in too.
    const again = new UserAgent();
    const second = await beginAuthorization(again, rp, { scope: 'openid profile phone identity' });
    const res = await submit(
      again,
      second.page,
      '/login',
      { login: idNumber, password: PASSWORD },
      rp.redirectUri,
    );
    const signedIn = await completeAuthorization(again, rp, second, res);
    expect(signedIn.tokens!.claims()!.sub).toBe(claims.sub);
  });

  it('finishes as an unverified L1 account when the citizen skips 实名认证', async () => {
    const ua = new UserAgent();
    const { start, realname } = await register(ua, randomPhone());
    const done = await submit(ua, realname, '/realname/skip', {});
    const { tokens } = await completeAuthorization(ua, rp, start, done);
    expect(tokens!.claims()!['certification_level']).toBe('L1');
  });

  it('refuses a wrong image captcha and sends no SMS', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const start = await beginAuthorization(ua, rp);
    const form = await ua.get(`${server.url}/interaction/${interactionUid(start.page)}/register/person`);
    await solveCaptcha(ua, server, form);
    const res = await submit(ua, form, '/register/person', { phone, captcha: 'ZZZZ', action: 'send_sms' });
    expect(res.status).toBe(400);
    expect(messageOf(res)).toBe('图片验证码错误或已过期，请重新输入');
    expect(await latestSmsCode(server, phone)).toBeUndefined();
    // The captcha was single use: even the right answer now fails.
    expect(await captchaAnswer(ua, server)).toBeNull();
  });

  it('refuses a weak password, mismatched passwords, a missing agreement and a wrong code, writing nothing', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { sent } = await registrationForm(ua, phone);
    const before = await rowCount(server, 'accounts');
    const attempt = (fields: Record<string, string>) =>
      submit(ua, sent, '/register/person', { phone, agree: 'yes', action: 'register', ...fields });
    const code = (await latestSmsCode(server, phone))!;
    const cases: [Record<string, string>, string][] = [
      [
        { password: 'abcdefgh', password_confirm: 'abcdefgh', sms_code: code },
        '密码须包含数字、字母、符号中的至少两类',
      ],
      [
        { password: `${phone}a!`, password_confirm: `${phone}a!`, sms_code: code },
        '密码不能包含手机号码或身份证号码',
      ],
      [{ password: PASSWORD, password_confirm: `${PASSWORD}x`, sms_code: code }, '两次输入的密码不一致'],
      [
        { password: PASSWORD, password_confirm: PASSWORD, sms_code: code, agree: '' },
        '请阅读并同意《用户注册协议》',
      ],
      [
        { password: PASSWORD, password_confirm: PASSWORD, sms_code: code === '000000' ? '111111' : '000000' },
        '短信验证码错误或已过期',
      ],
    ];
    for (const [fields, message] of cases) {
      const res = await attempt(fields);
      expect(res.status).toBe(400);
      expect(messageOf(res)).toContain(message);
    }
    expect(await rowCount(server, 'accounts')).toBe(before);
    // The right code still works after one wrong entry, exactly once.
    const ok = await attempt({ password: PASSWORD, password_confirm: PASSWORD, sms_code: code });
    expect(ok.body).toContain('实名认证');
    const reused = await attempt({ password: PASSWORD, password_confirm: PASSWORD, sms_code: code });
    expect(messageOf(reused)).toContain('短信验证码错误或已过期');
    expect(await rowCount(server, 'accounts')).toBe(before + 1);
  });

  it('tells a weak password and a wrong code in one answer, and keeps a right code through refused submits', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { sent } = await registrationForm(ua, phone);
    const code = (await latestSmsCode(server, phone))!;
    const wrong = code === '000000' ? '111111' : '000000';
    const attempt = (fields: Record<string, string>) =>
      submit(ua, sent, '/register/person', { phone, agree: 'yes', action: 'register', ...fields });
    const both = await attempt({ password: 'abcdefgh', password_confirm: 'abcdefgh', sms_code: wrong });
    expect(both.status).toBe(400);
    expect(messageOf(both)).toBe('密码须包含数字、字母、符号中的至少两类；短信验证码错误或已过期');
    expect(both.body).toMatch(
      /<input id="password"[^>]*aria-invalid="true"[^>]*aria-describedby="password-error password-retype password-rule"/,
    );
    expect(both.body).toMatch(
      /<input id="sms_code"[^>]*aria-invalid="true"[^>]*aria-describedby="sms_code-error"/,
    );
    expect(both.body).toContain('<p class="field-note" id="password_confirm-retype">请重新输入密码</p>');
    // The right code with a weak password, again and again (more than the five entries a code
    // allows): each refusal says only the password, and the code is still there afterwards.
    for (let i = 0; i < 6; i++) {
      const refused = await attempt({ password: 'abcdefgh', password_confirm: 'abcdefgh', sms_code: code });
      expect(messageOf(refused)).toBe('密码须包含数字、字母、符号中的至少两类');
      expect(refused.body).toContain(`value="${code}"`);
    }
    const ok = await attempt({ password: PASSWORD, password_confirm: PASSWORD, sms_code: code });
    expect(ok.body).toContain('实名认证');
  });

  it('does not let guesses ride on refused forms: parallel wrong codes with a weak password still spend the code after five', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { sent } = await registrationForm(ua, phone);
    const code = (await latestSmsCode(server, phone))!;
    const guesses = Array.from({ length: 20 }, (_, i) =>
      String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'),
    );
    const answers = await Promise.all(
      guesses.map((guess) =>
        submit(ua, sent, '/register/person', {
          phone,
          agree: 'yes',
          action: 'register',
          password: 'abcdefgh',
          password_confirm: 'abcdefgh',
          sms_code: guess,
        }),
      ),
    );
    for (const answer of answers) expect(messageOf(answer)).toContain('短信验证码错误或已过期');
    const late = await submit(ua, sent, '/register/person', {
      phone,
      agree: 'yes',
      action: 'register',
      password: PASSWORD,
      password_confirm: PASSWORD,
      sms_code: code,
    });
    expect(messageOf(late)).toBe('短信验证码错误或已过期');
  });

  it('spends a code after five wrong entries, and refuses an expired one', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { sent } = await registrationForm(ua, phone);
    const code = (await latestSmsCode(server, phone))!;
    const wrong = code === '123456' ? '654321' : '123456';
    const fields = {
      phone,
      password: PASSWORD,
      password_confirm: PASSWORD,
      agree: 'yes',
      action: 'register',
    };
    for (let i = 0; i < 5; i++) await submit(ua, sent, '/register/person', { ...fields, sms_code: wrong });
    const spent = await submit(ua, sent, '/register/person', { ...fields, sms_code: code });
    expect(messageOf(spent)).toContain('短信验证码错误或已过期');

    const other = randomPhone();
    const otherBrowser = new UserAgent();
    const second = await registrationForm(otherBrowser, other);
    await server.database
      .db('sms_codes')
      .where({ phone: `+86${other}` })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await submit(otherBrowser, second.sent, '/register/person', {
      ...fields,
      phone: other,
      sms_code: (await latestSmsCode(server, other))!,
    });
    expect(messageOf(expired)).toContain('短信验证码已过期');
  });

  it('makes the citizen wait 60 seconds before a code is sent again', async () => {
    const ua = new UserAgent();
    const phone = randomPhone();
    const { sent } = await registrationForm(ua, phone);
    const answer = await solveCaptcha(ua, server, sent);
    const again = await submit(ua, sent, '/register/person', { phone, captcha: answer, action: 'send_sms' });
    expect(again.status).toBe(429);
    expect(messageOf(again)).toMatch(/请在\d+秒后重新获取验证码/);
  });

  it('tells only the phone, by SMS, that a number is taken; the page answers as for a new number', async () => {
    const phone = randomPhone();
    await server.services.accounts.addCitizen({ phone, password: PASSWORD });
    const ua = new UserAgent();
    const { sent } = await registrationForm(ua, phone);
    expect(sent.status).toBe(200);
    expect(messageOf(sent)).toMatch(/^验证码已发送至 1\d\d\*{4}\d{4}，5分钟内有效$/);
    const outbox = await smsOutbox(server, phone);
    expect(outbox).toEqual([
      expect.objectContaining({
        code: null,
        text: expect.stringContaining('该手机号已注册，如忘记密码请使用忘记密码'),
      }),
    ]);
    // No code went out, so none that is typed can register the number a second time.
    const res = await submit(ua, sent, '/register/person', {
      phone,
      password: PASSWORD,
      password_confirm: PASSWORD,
      sms_code: '123456',
      agree: 'yes',
      action: 'register',
    });
    expect(messageOf(res)).toBe('短信验证码错误或已过期');
  });

  it('refuses an invalid ID number and one that already belongs to another citizen', async () => {
    const first = new UserAgent();
    const idNumber = randomIdNumber('19850612');
    const one = await register(first, randomPhone());
    await submit(first, one.realname, '/realname', { real_name: '周八', id_number: idNumber });

    const ua = new UserAgent();
    const { realname } = await register(ua, randomPhone());
    const invalid = await submit(ua, realname, '/realname', {
      real_name: '吴九',
      id_number: `${idNumber.slice(0, 17)}${idNumber.endsWith('1') ? '2' : '1'}`,
    });
    expect(messageOf(invalid)).toBe('身份证号码校验位不正确');
    const future = await submit(ua, realname, '/realname', {
      real_name: '吴九',
      id_number: randomIdNumber('20991231'),
    });
    expect(messageOf(future)).toContain('出生日期');
    const taken = await submit(ua, realname, '/realname', { real_name: '吴九', id_number: idNumber });
    // The same answer as a wrong name: the page does not say that the number has an account.
    expect(taken.status).toBe(400);
    expect(messageOf(taken)).toContain('实名核验未通过');
    expect(messageOf(taken)).toContain('忘记密码');
    const row = await server.database.db('accounts').whereNotNull('id_number_hash').count({ n: '*' });
    expect(Number(row[0]!.n)).toBeGreaterThanOrEqual(1);
  });
});
