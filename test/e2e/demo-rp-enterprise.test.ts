import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { submit } from '../support/citizen.js';
import { addEnterprise } from '../support/enterprise.js';
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
    const creditCode = randomCreditCode();
    await addEnterprise(server, {
      orgName: '周庄贸易有限公司',
      creditCode,
      password: PASSWORD,
      representativeName: '沈万三',
    });

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
