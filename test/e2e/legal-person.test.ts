import { randomInt } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { SMS_RULES } from '../../src/verification/sms-code-service.js';
import { startFakeEnterpriseVerifier } from '../fakes/fake-enterprise-verifier.js';
import {
  addCitizen,
  latestSmsCode,
  messageOf,
  randomIdNumber,
  smsOutbox,
  solveCaptcha,
  submit,
} from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { registerEnterpriseUnder } from '../support/enterprise.js';
import {
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  randomPhone,
  registerRelyingParty,
} from '../support/relying-party.js';
import { rowCount, startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Fa-Ren#2024';

/** A birth date of its own, so ID numbers drawn in one file (1,000 per date) do not collide. */
const randomBirth = () => `19${50 + randomInt(0, 40)}0${1 + randomInt(0, 9)}1${randomInt(0, 9)}`;

async function representative(server: TestServer, name = '林则徐') {
  const idNumber = randomIdNumber(randomBirth());
  const { phone } = await addCitizen(server, PASSWORD, { realName: name, idNumber });
  return { phone, idNumber, name };
}

type Representative = Awaited<ReturnType<typeof representative>>;

/** An enterprise registered under `rep` through the service, without the registration pages. */
function registerEnterprise(server: TestServer, rep: Representative, creditCode: string, orgName: string) {
  return registerEnterpriseUnder(server, rep, { orgName, creditCode, password: PASSWORD });
}

/** Legal persons and accounts: what a refused registration must leave as they were. */
const legalPersonsAndAccounts = async (server: TestServer) => [
  await rowCount(server, 'legal_persons'),
  await rowCount(server, 'accounts'),
];

/** The registration form with an SMS code sent to `phone`, the enterprise's contact phone. */
async function legalForm(server: TestServer, rp: RelyingParty, ua: UserAgent, phone: string) {
  const start = await beginAuthorization(ua, rp, { scope: 'openid enterprise' });
  const uid = interactionUid(start.page);
  const choose = await ua.get(`${server.url}/interaction/${uid}/register`);
  expect(choose.body).toContain('/register/legal');
  const form = await ua.get(`${server.url}/interaction/${uid}/register/legal`);
  const sent = await submit(ua, form, '/register/legal', {
    phone,
    captcha: await solveCaptcha(ua, server, form),
    action: 'send_sms',
  });
  expect(messageOf(sent)).toContain('验证码已发送');
  return { start, sent };
}

const fields = (rep: Representative, code: string, extra: Record<string, string> = {}) => ({
  legal_type: 'enterprise',
  org_name: '福建某某科技有限公司',
  credit_code: code,
  representative_name: rep.name,
  representative_id_number: rep.idNumber,
  phone: rep.phone,
  password: PASSWORD,
  password_confirm: PASSWORD,
  agree: 'yes',
  action: 'register',
  ...extra,
});

/** The page 法定代表人确认 after the first step, with the contact phone's code. */
async function toConfirmation(
  server: TestServer,
  rp: RelyingParty,
  rep: Representative,
  creditCode: string,
  contactPhone = rep.phone,
) {
  const ua = new UserAgent();
  const { start, sent } = await legalForm(server, rp, ua, contactPhone);
  const confirm = await submit(ua, sent, '/register/legal', {
    ...fields(rep, creditCode, { phone: contactPhone }),
    sms_code: (await latestSmsCode(server, contactPhone))!,
  });
  return { ua, start, confirm };
}

/** The representative's code, read from their phone's outbox, entered on 法定代表人确认. */
async function confirmAsRepresentative(
  server: TestServer,
  ua: UserAgent,
  confirm: PageResponse,
  rep: Representative,
) {
  return submit(ua, confirm, '/register/legal/confirm', {
    sms_code: (await latestSmsCode(server, rep.phone))!,
    action: 'confirm',
  });
}

describe.each(databaseKinds())('法人用户 registration and login (%s)', (kind) => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    rp = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
  });
  afterAll(() => server?.close());

  it('registers an enterprise only once its representative confirms with the code sent to their own phone', async () => {
    const rep = await representative(server);
    const code = randomCreditCode();
    const contactPhone = randomPhone();
    const before = await legalPersonsAndAccounts(server);
    const { ua, start, confirm } = await toConfirmation(server, rp, rep, code, contactPhone);
    expect(confirm.body).toContain('法定代表人确认');
    expect(confirm.body).toContain(
      '如所填姓名、身份证号码与法定代表人的实名信息一致，验证码已发送至其实名账号绑定的手机',
    );
    expect(confirm.body).toContain(`${rep.phone.slice(0, 3)}****${rep.phone.slice(7)}`);
    // The representative is told which enterprise, by its credit code; the contact phone got
    // only its own code, and nothing exists yet.
    expect((await smsOutbox(server, rep.phone))[0]!.text).toContain(`统一社会信用代码为${code}`);
    expect(await smsOutbox(server, contactPhone)).toHaveLength(1);
    expect(await legalPersonsAndAccounts(server)).toEqual(before);

    const bind = await confirmAsRepresentative(server, ua, confirm, rep);
    expect(bind.body).toContain('绑定证书');
    expect(bind.body).toContain('跳过此步骤');
    const skipped = await submit(ua, bind, '/cert/bind/skip', {}, rp.redirectUri);
    const { tokens } = await completeAuthorization(ua, rp, start, skipped);
    const claims = tokens!.claims()!;
    expect(claims['user_type']).toBe('legal_person');
    expect(claims['certification_level']).toBe('L2');
    expect(claims['uscc']).toBe(code);
    expect(claims['org_name']).toBe('福建某某科技有限公司');
    expect(claims['legal_type']).toBe('enterprise');
    expect(claims['legal_representative']).toBe(rep.name);
    const row = await server.database.db('legal_persons').where({ credit_code: code }).first();
    expect(row.contact_phone).toBe(`+86${contactPhone}`);

    // The representative's 用户空间 lists the enterprise, and 登录记录 shows the confirmation.
    const repUa = new UserAgent();
    let space = await repUa.follow(await repUa.get(`${server.url}/account`));
    space = await submit(repUa, space, '/login', { login: rep.phone, password: PASSWORD });
    expect(space.body).toContain('我担任法定代表人的法人账号');
    expect(space.body).toContain('福建某某科技有限公司');
    expect(space.body).toContain(code);
    const log = await repUa.get(`${server.url}/account/log`);
    expect(log.body).toContain('确认担任法定代表人（法人注册）');
    expect(log.body).toContain('有人申请以您为法定代表人注册法人账号');

    const again = new UserAgent();
    const second = await beginAuthorization(again, rp, { scope: 'openid enterprise' });
    const legalTab = await again.get(`${second.page.url}?tab=legal`);
    expect(legalTab.body).toContain('统一社会信用代码');
    expect(legalTab.body).toContain('证书登录');
    const wrong = await submit(again, legalTab, '/login-legal', { login: code, password: 'Wrong#Pass9' });
    expect(messageOf(wrong)).toBe('账号或密码错误');
    const done = await submit(
      again,
      wrong,
      '/login-legal',
      { login: code.toLowerCase(), password: PASSWORD },
      rp.redirectUri,
    );
    const signedIn = await completeAuthorization(again, rp, second, done);
    expect(signedIn.tokens!.claims()!.sub).toBe(claims.sub);
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => queries.push(q.sql);
    server.database.db.on('query', onQuery);
    const userinfo = await oidc.fetchUserInfo(rp.config, signedIn.tokens!.access_token, claims.sub);
    server.database.db.off('query', onQuery);
    expect(userinfo['uscc']).toBe(code);
    expect(userinfo['legal_representative']).toBe(rep.name);
    // The token with its grant, session and account in one statement; the enterprise (its
    // legal_persons row joined to the representative) is the one extra.
    const reads = queries.filter((sql) => /oidc_token_context|oidc_models|accounts|legal_persons/.test(sql));
    expect(reads).toHaveLength(2);
    expect(reads.filter((sql) => sql.includes('legal_persons'))).toHaveLength(1);

    // 用户空间 asks the enterprise for its own password (it has no phone to sign in with).
    const security = await again.follow(await again.get(`${server.issuer}/account/security`));
    const changed = await submit(again, security, '/account/security/password', {
      current_password: PASSWORD,
      new_password: 'Qiye-Mima#2025x',
      new_password_confirm: 'Qiye-Mima#2025x',
    });
    expect(messageOf(changed)).toBe('修改成功');
  });

  it('locks the credit-code login like a citizen’s: captcha after three failures, locked after ten', async () => {
    const rep = await representative(server, '沈葆桢');
    const code = randomCreditCode();
    const accountId = await registerEnterprise(server, rep, code, '福建船政有限公司');
    // Earlier tests' failures from 127.0.0.1 count too; this one is about the credit code's counter.
    await server.database.db('rate_limits').where('key', 'like', 'loginfail:ip:%').delete();
    const ua = new UserAgent();
    const start = await beginAuthorization(ua, rp, { scope: 'openid enterprise' });
    let page = await ua.get(`${start.page.url}?tab=legal`);
    for (let i = 1; i <= 10; i++) {
      const form: Record<string, string> = { login: code, password: `wrong-${i}-pass` };
      expect(page.body.includes('name="captcha"')).toBe(i > 3);
      if (i > 3) form['captcha'] = await solveCaptcha(ua, server, page);
      page = await submit(ua, page, '/login-legal', form);
      expect(messageOf(page)).toBe('账号或密码错误');
      expect(page.body).toContain('/login-legal');
    }
    const locked = await submit(ua, page, '/login-legal', {
      login: code,
      password: PASSWORD,
      captcha: await solveCaptcha(ua, server, page),
    });
    expect(messageOf(locked)).toBe('账号或密码错误');
    const row = await server.database.db('accounts').where({ id: accountId }).first();
    expect(new Date(row.password_locked_until).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);
  });

  it('refuses bad codes and a taken code before the SMS code is spent, writing nothing', async () => {
    const rep = await representative(server, '左宗棠');
    const taken = randomCreditCode();
    await registerEnterprise(server, rep, taken, '已注册公司');
    const good = randomCreditCode();
    const cases: [Record<string, string>, string][] = [
      [
        { credit_code: `${good.slice(0, 17)}${good.endsWith('1') ? '2' : '1'}` },
        '统一社会信用代码校验位不正确',
      ],
      [{ credit_code: randomCreditCode('92') }, '企业的代码应以 91 开头'],
      [{ credit_code: taken }, '该统一社会信用代码已注册，请直接登录或找回密码'],
    ];
    const before = await legalPersonsAndAccounts(server);
    const ua = new UserAgent();
    const { sent } = await legalForm(server, rp, ua, rep.phone);
    let page: PageResponse = sent;
    for (const [override, message] of cases) {
      page = await submit(ua, sent, '/register/legal', {
        ...fields(rep, good, override),
        sms_code: '000000',
      });
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(messageOf(page)).toContain(message);
    }
    expect(await legalPersonsAndAccounts(server)).toEqual(before);
    // The SMS code was not spent by any of these: it still leads on to the representative.
    const confirm = await submit(ua, page, '/register/legal', {
      ...fields(rep, good),
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    expect(confirm.body).toContain('法定代表人确认');
    const ok = await confirmAsRepresentative(server, ua, confirm, rep);
    expect(ok.body).toContain('绑定证书');
    expect(await legalPersonsAndAccounts(server)).toEqual([before[0]! + 1, before[1]! + 1]);
  });

  it('gives no enterprise to someone who types a stranger’s name and ID number, and sends nothing to their phone', async () => {
    const stranger = await representative(server, '岳飞');
    const attackerPhone = randomPhone();
    const code = randomCreditCode();
    const before = await legalPersonsAndAccounts(server);
    const strangerBefore = (await smsOutbox(server, stranger.phone)).length;
    const { ua, confirm } = await toConfirmation(server, rp, stranger, code, attackerPhone);
    expect(confirm.body).toContain('法定代表人确认');
    // The code went to the stranger's own phone, not to the number the registrant typed.
    expect(await smsOutbox(server, attackerPhone)).toHaveLength(1);
    expect(await smsOutbox(server, stranger.phone)).toHaveLength(strangerBefore + 1);
    // Whatever they try: their own (spent) contact code, guesses, a re-send.
    const ownCode = (await latestSmsCode(server, attackerPhone))!;
    for (const guess of [ownCode, '000000', '123456']) {
      const refused = await submit(ua, confirm, '/register/legal/confirm', {
        sms_code: guess,
        action: 'confirm',
      });
      expect(refused.status).toBe(400);
      expect(messageOf(refused)).toBe('短信验证码错误或已过期');
    }
    const resend = await submit(ua, confirm, '/register/legal/confirm', { action: 'send_sms' });
    expect(resend.status).toBe(429);
    expect(await smsOutbox(server, attackerPhone)).toHaveLength(1);
    expect(await legalPersonsAndAccounts(server)).toEqual(before);
    expect(await server.database.db('legal_persons').where({ credit_code: code }).first()).toBeUndefined();
    // The stranger's 登录记录 shows the request made in their name, and no confirmation.
    const strangerAccount = await server.services.accounts.findByPhone(`+86${stranger.phone}`);
    const events = (await server.services.audit.forAccount(strangerAccount!.id)).map((e) => e.type);
    expect(events).toContain('legal_representative_requested');
    expect(events).not.toContain('legal_representative_confirmed');
  });

  it('takes a representative’s code only for the registration it was sent for', async () => {
    const rep = await representative(server, '海瑞');
    const first = await toConfirmation(server, rp, rep, randomCreditCode(), randomPhone());
    // Past the representative phone's 60-second wait, a second registration names them too.
    await server.database.db('sms_codes').update({ created_at: new Date(Date.now() - 120_000) });
    const secondCode = randomCreditCode();
    const second = await toConfirmation(server, rp, rep, secondCode, randomPhone());
    const [newest] = await smsOutbox(server, rep.phone);
    expect(newest!.text).toContain(secondCode);
    const crossed = await submit(first.ua, first.confirm, '/register/legal/confirm', {
      sms_code: newest!.code!,
      action: 'confirm',
    });
    expect(crossed.status).toBe(400);
    expect(messageOf(crossed)).toBe('短信验证码错误或已过期');
    const own = await confirmAsRepresentative(server, second.ua, second.confirm, rep);
    expect(own.body).toContain('绑定证书');
  });

  it('answers alike for matching and non-matching names and ID numbers, and checks none before the SMS code', async () => {
    const rep = await representative(server, '文天祥');
    const notVerified = await addCitizen(server, PASSWORD);
    const cases: [string, Representative][] = [
      ['match', rep],
      ['wrong name', { ...rep, name: '文天样' }],
      ['unknown ID number', { ...rep, idNumber: randomIdNumber(randomBirth()) }],
      [
        'not real-name',
        { phone: notVerified.phone, name: '无名氏', idNumber: randomIdNumber(randomBirth()) },
      ],
    ];
    const checks = () =>
      server.database.db('rate_limits').where('key', 'like', 'legal-rep-check:%').sum({ n: 'count' }).first();
    const checksBefore = Number((await checks())?.n ?? 0);

    // Before the contact phone's code: the same refusal, and no identity check counted.
    for (const [, who] of cases) {
      const ua = new UserAgent();
      const { sent } = await legalForm(server, rp, ua, randomPhone());
      const refused = await submit(ua, sent, '/register/legal', {
        ...fields(who, randomCreditCode(), { phone: hiddenPhone(sent) }),
        sms_code: '000000',
      });
      expect(refused.status).toBe(400);
      expect(messageOf(refused)).toBe('短信验证码错误或已过期');
    }
    expect(Number((await checks())?.n ?? 0)).toBe(checksBefore);

    const seen: { status: number; page: string; masked: string; wrong: string; resend: string }[] = [];
    for (const [, who] of cases) {
      const { ua, confirm } = await toConfirmation(server, rp, who, randomCreditCode(), randomPhone());
      const masked = /id="representative-phone">([^<]*)</.exec(confirm.body)?.[1] ?? '';
      const wrong = await submit(ua, confirm, '/register/legal/confirm', {
        sms_code: '000000',
        action: 'confirm',
      });
      const resend = await submit(ua, confirm, '/register/legal/confirm', { action: 'send_sms' });
      seen.push({
        status: confirm.status,
        page: normalised(confirm.body, masked),
        masked,
        wrong: `${wrong.status} ${messageOf(wrong)}`,
        resend: `${resend.status} ${messageOf(resend).replace(/\d+秒/, 'N秒')}`,
      });
    }
    for (const answer of seen) {
      expect(answer.masked).toMatch(/^1[3-9]\d\*{4}\d{4}$/);
      expect({ ...answer, masked: '' }).toEqual({ ...seen[0]!, masked: '' });
    }
    expect(seen[0]!.masked).toBe(`${rep.phone.slice(0, 3)}****${rep.phone.slice(7)}`);
    expect(seen[0]!.wrong).toBe('400 短信验证码错误或已过期');
    expect(seen[0]!.resend).toBe('429 请在N秒后重新获取验证码');
    // The same non-matching details show the same masked number again, as a real one would.
    const again = await toConfirmation(server, rp, cases[1]![1], randomCreditCode(), randomPhone());
    expect(/id="representative-phone">([^<]*)</.exec(again.confirm.body)?.[1]).toBe(seen[1]!.masked);
  });

  it('spends the same SMS allowances on a match as on a mismatch, so counting the sends left tells nothing', async () => {
    const rep = await representative(server, '于谦');
    const ua = new UserAgent();
    const start = await beginAuthorization(ua, rp, { scope: 'openid enterprise' });
    const formUrl = `${server.url}/interaction/${interactionUid(start.page)}/register/legal`;
    /** 获取验证码 for a new contact phone from this address: what any registrant may try. */
    const contactCode = async () => {
      const form = await ua.get(formUrl);
      const sent = await submit(ua, form, '/register/legal', {
        phone: randomPhone(),
        captcha: await solveCaptcha(ua, server, form),
        action: 'send_sms',
      });
      return `${sent.status} ${messageOf(sent)}`;
    };
    /**
     * From a fresh hour and day at this address: one registration naming `who`, its 重新发送
     * after the wait, then contact-phone codes until the address's allowance says no.
     */
    async function attack(who: Representative) {
      await freshAddress();
      const { ua: registrant, confirm } = await toConfirmation(
        server,
        rp,
        who,
        randomCreditCode(),
        randomPhone(),
      );
      // Past the 60-second waits (the page's and the phone's), as an attacker would simply wait.
      await server.database.db('sms_codes').update({ created_at: new Date(Date.now() - 120_000) });
      const uid = /\/interaction\/([^/]+)\/register\/legal\/confirm/.exec(confirm.url)![1]!;
      const pending = (await server.services.flowStates.get('legal-confirm', uid))!;
      await server.services.flowStates.put('legal-confirm', uid, {
        ...pending,
        sentAt: Date.now() - 120_000,
      });
      const resend = await submit(registrant, confirm, '/register/legal/confirm', { action: 'send_sms' });
      const answers = [`${resend.status} ${messageOf(resend).replace(/\d+秒/, 'N秒')}`];
      // The counters spent, by kind (their keys differ: a phone, a stand-in), in key order of kind.
      const spent = (
        await server.database.db('rate_limits').where('key', 'like', 'sms:%').select('key', 'count')
      )
        .map((r: { key: string; count: number }) => `${r.key.split(':').slice(0, 2).join(':')}=${r.count}`)
        .sort();
      let sendsLeft = 0;
      for (;;) {
        const answer = await contactCode();
        if (!answer.startsWith('200 ')) return { spent, sendsLeft, answers, refusal: answer };
        sendsLeft += 1;
        expect(sendsLeft).toBeLessThanOrEqual(SMS_RULES.perIpPerHour.max);
      }
    }

    /** A new hour and day at this address (the tests share it): its SMS and check allowances afresh. */
    const freshAddress = async () => {
      await server.database
        .db('rate_limits')
        .where('key', 'like', 'sms:%')
        .orWhere('key', 'like', 'legal-rep-check:ip:%')
        .delete();
    };
    // The tests after this one send from the same address, whatever happens here.
    onTestFinished(freshAddress);
    const matched = await attack(rep);
    const mismatched = await attack({ ...rep, name: '于廉' });
    const unknown = await attack({ ...rep, idNumber: randomIdNumber(randomBirth()) });
    // The representative's code, sent twice, spent the address's allowance twice…
    expect(matched.sendsLeft).toBe(SMS_RULES.perIpPerHour.max - 3);
    expect(matched.spent).toEqual(['sms:ip=3', 'sms:phone=1', 'sms:phone=2']);
    // …and a mismatch spends exactly the same, with the same answers and the same refusal.
    expect(mismatched).toEqual(matched);
    expect(unknown).toEqual(matched);
  });

  it('limits the representative checks against one ID number a day, alike for a match', async () => {
    const rep = await representative(server, '戚继光');
    for (let i = 0; i < 5; i++) {
      const { confirm } = await toConfirmation(
        server,
        rp,
        { ...rep, name: i === 0 ? rep.name : `戚继${i}` },
        randomCreditCode(),
        randomPhone(),
      );
      expect(confirm.body).toContain('法定代表人确认');
    }
    const ua = new UserAgent();
    const contact = randomPhone();
    const { sent } = await legalForm(server, rp, ua, contact);
    const limited = await submit(ua, sent, '/register/legal', {
      ...fields(rep, randomCreditCode(), { phone: contact }),
      sms_code: (await latestSmsCode(server, contact))!,
    });
    expect(limited.status).toBe(429);
    expect(messageOf(limited)).toBe('今日验证次数已达上限，请明天再试');
  });
});

/** The page without what differs between any two visits (the CSRF token, the interaction) and the masked phone. */
function normalised(body: string, masked: string) {
  return body
    .replaceAll(masked, 'MASKED')
    .replace(/name="_csrf" value="[^"]*"/g, '')
    .replace(/\/interaction\/[^/"]+/g, '/interaction/UID')
    .replace(/%2Finteraction%2F[^%"&]+/g, '%2Finteraction%2FUID')
    .replace(/captcha\?t=\d+/g, 'captcha')
    .replace(/nonce="[^"]*"/g, '');
}

/** The contact phone the form was sent with (kept in the page). */
function hiddenPhone(page: PageResponse) {
  return /name="phone" type="tel" maxlength="20" required value="([^"]*)"/.exec(page.body)?.[1] ?? '';
}

describe('法人 registration against the enterprise registry over HTTP', () => {
  const secret = 'enterprise-registry-shared-secret';
  let server: TestServer;
  let rp: RelyingParty;
  let registry: Awaited<ReturnType<typeof startFakeEnterpriseVerifier>>;
  const code = '91350100M000100Y43';

  beforeAll(async () => {
    registry = await startFakeEnterpriseVerifier(secret, [
      { creditCode: code, orgName: '福建真实公司', representativeName: '郑成功' },
    ]);
    server = await startTestServer({
      env: {
        ENTERPRISE_VERIFIER: 'http',
        ENTERPRISE_VERIFIER_URL: registry.url,
        ENTERPRISE_VERIFIER_APP_ID: 'unified-id',
        ENTERPRISE_VERIFIER_SECRET: secret,
        ENTERPRISE_VERIFIER_TIMEOUT_MS: '5000', // a loaded machine is slow; "down" is a fault flag, not a timeout
      },
    });
    rp = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
  });
  afterAll(async () => {
    await server?.close();
    await registry?.close();
  });

  /** A fresh form and SMS code (the registry is asked only after the representative's code). */
  async function attempt(rep: Representative, override: Record<string, string>) {
    await server.database.db('sms_codes').update({ created_at: new Date(Date.now() - 120_000) });
    const ua = new UserAgent();
    const { sent } = await legalForm(server, rp, ua, rep.phone);
    const confirm = await submit(ua, sent, '/register/legal', {
      ...fields(rep, override['credit_code'] ?? code, override),
      sms_code: (await latestSmsCode(server, rep.phone))!,
    });
    expect(confirm.body).toContain('法定代表人确认');
    return confirmAsRepresentative(server, ua, confirm, rep);
  }

  it('refuses a mismatch, an unknown code and a registry that is down (503), then registers on a match', async () => {
    const rep = await representative(server, '郑成功');
    const before = await legalPersonsAndAccounts(server);

    const mismatch = await attempt(rep, { org_name: '别的名字公司' });
    expect(mismatch.status).toBe(400);
    expect(messageOf(mismatch)).toBe('企业信息核验未通过：机构名称、统一社会信用代码与法定代表人不一致');
    expect(registry.received.at(-1)).toEqual({
      creditCode: code,
      orgName: '别的名字公司',
      legalType: 'enterprise',
      representativeName: '郑成功',
      representativeIdNumber: rep.idNumber,
    });

    const unknown = await attempt(rep, { credit_code: randomCreditCode() });
    expect(unknown.status).toBe(400);
    expect(messageOf(unknown)).toBe('未查询到该企业（机构）的登记信息，请核对统一社会信用代码');

    registry.faults.down = true;
    const down = await attempt(rep, { org_name: '福建真实公司' });
    registry.faults.down = false;
    expect(down.status).toBe(503);
    expect(messageOf(down)).toBe('企业信息核验服务暂不可用，请稍后重试');
    expect(await legalPersonsAndAccounts(server)).toEqual(before);

    const ok = await attempt(rep, { org_name: '福建真实公司' });
    expect(ok.body).toContain('绑定证书');
    expect(await legalPersonsAndAccounts(server)).toEqual([before[0]! + 1, before[1]! + 1]);
    const row = await server.database.db('legal_persons').where({ credit_code: code }).first();
    expect(row).toMatchObject({
      org_name: '福建真实公司',
      legal_type: 'enterprise',
      contact_phone: `+86${rep.phone}`,
    });
    expect(row.verified_at).not.toBeNull();
    const account = await server.database.db('accounts').where({ id: row.account_id }).first();
    expect(account).toMatchObject({ user_type: 'legal_person', certification_level: 'L2', phone: null });
  });
});
