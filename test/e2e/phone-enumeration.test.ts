import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOf, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { beginAuthorization, type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, type UserAgent, UserAgentAt } from '../support/user-agent.js';

const PASSWORD = 'Qian-Ba#2024';

/** Two numbers that mask alike (139****wxyz), so a page naming the masked number reads the same for both. */
function twinNumbers(): [string, string] {
  const tail = String(Math.floor(Math.random() * 1e4)).padStart(4, '0');
  const middle = Math.floor(Math.random() * 9000) + 1000;
  return [`139${middle}${tail}`, `139${middle + 1}${tail}`];
}

const answer = (page: PageResponse) => ({ status: page.status, message: messageOf(page) });

describe.each(databaseKinds())(
  'asking for an SMS code does not tell whether a number is registered (%s)',
  (kind) => {
    let server: TestServer;
    let rp: RelyingParty;

    beforeAll(async () => {
      server = await startTestServer({ kind, env: { TRUST_PROXY: 'true' } });
      rp = await registerRelyingParty(server, { firstParty: true });
    });
    afterAll(() => server?.close());

    const forms = {
      'SMS login': { path: (uid: string) => `/interaction/${uid}?tab=sms`, action: '/login-sms' },
      忘记密码: { path: (uid: string) => `/interaction/${uid}/forgot`, action: '/forgot' },
    } as const;

    async function formPage(ua: UserAgent, form: keyof typeof forms) {
      const { page } = await beginAuthorization(ua, rp, { scope: 'openid' });
      const uid = /\/interaction\/([\w-]+)/.exec(page.url)![1]!;
      return ua.get(`${server.url}${forms[form].path(uid)}`);
    }

    async function ask(ua: UserAgent, page: PageResponse, form: keyof typeof forms, phone: string) {
      return submit(ua, page, forms[form].action, {
        phone,
        captcha: await solveCaptcha(ua, server, page),
        action: 'send_sms',
      });
    }

    /**
     * Asking a second time within the minute: SMS login's 获取验证码 again on the same page;
     * 忘记密码's 重新发送 on its step-2 page (the code page step 1 leads to).
     */
    async function askAgain(ua: UserAgent, page: PageResponse, form: keyof typeof forms, phone: string) {
      if (form === '忘记密码') return submit(ua, page, '/forgot/code', { action: 'resend' });
      return ask(ua, page, form, phone);
    }

    /** Where the next number is asked: 忘记密码's step 1 again (step 2 has no phone field). */
    const nextAsk = (ua: UserAgent, page: PageResponse, first: PageResponse, form: keyof typeof forms) =>
      form === '忘记密码' ? ua.get(first.url) : Promise.resolve(page);

    for (const form of Object.keys(forms) as (keyof typeof forms)[]) {
      it(`${form}: the same answers for a registered and an unknown number, the second time within 60 s too`, async () => {
        const [registered, unknown] = twinNumbers();
        await server.services.accounts.addCitizen({ phone: registered, password: PASSWORD });
        const answers = [];
        for (const [i, phone] of [registered, unknown].entries()) {
          const ua = new UserAgentAt(`10.20.0.${i + 1}`);
          const first = await ask(ua, await formPage(ua, form), form, phone);
          const second = await askAgain(ua, first, form, phone);
          answers.push([answer(first), answer(second)]);
        }
        expect(answers[0]![0]).toEqual({ status: 200, message: expect.stringContaining('验证码已发送至') });
        expect(answers[0]![1]).toEqual({
          status: 429,
          message: expect.stringMatching(/^请在\d+秒后重新获取验证码$/),
        });
        // The wait may read 60 for one and 59 for the other: compare its shape, not the second.
        const shape = (a: { status: number; message: string }) => ({
          ...a,
          message: a.message.replace(/\d+秒/, 'N秒'),
        });
        expect(answers[1]!.map(shape)).toEqual(answers[0]!.map(shape));
      });

      it(`${form}: an address over its hourly sends is refused alike for both`, async () => {
        const [registered, unknown] = twinNumbers();
        await server.services.accounts.addCitizen({ phone: registered, password: PASSWORD });
        const ua = new UserAgentAt(form === 'SMS login' ? '10.21.0.1' : '10.21.0.2');
        const start = await formPage(ua, form);
        let page = start;
        for (let i = 0; i < 30; i++) {
          const asking = await nextAsk(ua, page, start, form);
          page = await ask(
            ua,
            asking,
            form,
            `1370${String(i).padStart(3, '0')}${twinNumbers()[0].slice(-4)}`,
          );
          expect(page.status).toBe(200);
        }
        const refused = [
          answer(await ask(ua, await nextAsk(ua, page, start, form), form, registered)),
          answer(await ask(ua, await nextAsk(ua, page, start, form), form, unknown)),
        ];
        expect(refused[0]).toEqual({ status: 429, message: expect.any(String) });
        expect(refused[1]).toEqual(refused[0]);
      });
    }
  },
);
