import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { addCitizen, randomIdNumber, submit } from '../support/citizen.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Qi-Ye#2024';

describe('the demo site at /dev/rp/ shows a legal person its enterprise claims', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { DEMO_CLIENT: 'true', NODE_ENV: 'development' } });
  });
  afterAll(() => server?.close());

  it('asks for the enterprise scope, and a legal person sees uscc, org_name, legal_type and legal_representative', async () => {
    const idNumber = randomIdNumber('19720304');
    const rep = await addCitizen(server, PASSWORD, { realName: '沈万三', idNumber });
    const creditCode = randomCreditCode();
    const registration = {
      legalType: 'enterprise' as const,
      orgName: '周庄贸易有限公司',
      creditCode,
      representativeName: '沈万三',
      representativeIdNumber: idNumber,
      contactPhone: `+86${rep.phone}`,
      password: PASSWORD,
    };
    await server.services.legalPersons.register(
      registration,
      await server.services.legalPersons.check(registration),
    );

    const ua = new UserAgent();
    const login = await ua.get(`${server.url}/dev/rp/login`);
    expect(new URL(login.location!).searchParams.get('scope')).toBe('openid profile phone enterprise');
    const page = await ua.follow(login);
    const legalTab = await ua.get(`${page.url}?tab=legal`);
    let res = await submit(ua, legalTab, '/login-legal', { login: creditCode, password: PASSWORD });
    if (res.body.includes('授权确认')) {
      res = await ua.follow(
        await ua.post(formAction(res.body, '/confirm', res.url), {
          _csrf: hiddenField(res.body, '_csrf'),
          decision: 'allow',
        }),
      );
    }
    expect(res.url).toContain('/dev/rp/');
    const text = res.body.replaceAll('&quot;', '"');
    expect(text).toContain(`"uscc": "${creditCode}"`);
    expect(text).toContain('"org_name": "周庄贸易有限公司"');
    expect(text).toContain('"legal_type": "enterprise"');
    expect(text).toContain('"legal_representative": "沈万三"');
  });
});
