import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMS_NOTICES } from '../../src/outside/sms/sms-notices.js';
import { addCitizen, messageOf, smsOutbox } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  addOperator,
  consolePost,
  consoleSignIn,
  OPERATOR_PASSWORD,
  operatorToken,
} from '../support/operators.js';
import { type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { UserAgent } from '../support/user-agent.js';

const NOTICE = SMS_NOTICES.operatorRoleChanged.text;

/** 三员分立's checks on the roles themselves: one per account, the 审计管理员 always there and always told. */
describe.each(databaseKinds())('operator roles hold each other in check (%s)', (kind) => {
  let server: TestServer;
  let security: { phone: string; id: string };
  let auditor: { phone: string; id: string };
  let securityConsole: UserAgent;
  let auditorConsole: UserAgent;
  let adminSite: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    security = await addOperator(server, 'security');
    auditor = await addOperator(server, 'audit');
    securityConsole = (await consoleSignIn(server, security.phone)).ua;
    auditorConsole = (await consoleSignIn(server, auditor.phone)).ua;
    adminSite = await registerRelyingParty(server, {
      grantTypes: ['authorization_code'],
      firstParty: true,
      scopes: ['openid', 'admin'],
    });
  });
  afterAll(() => server?.close());

  const grant = (login: string, role: string, reason: string) =>
    consolePost(server, securityConsole, '/console/operators', '/console/operators', { login, role, reason });
  const remove = (accountId: string, reason: string) =>
    consolePost(server, securityConsole, '/console/operators', `/console/operators/${accountId}/remove`, {
      reason,
    });
  const notices = async (phone: string) => (await smsOutbox(server, phone)).filter((m) => m.text === NOTICE);

  it('an account holds one role at most', async () => {
    const person = await addCitizen(server, OPERATOR_PASSWORD);
    const granted = await grant(person.phone, 'system', '新增系统管理员');
    expect(granted.status).toBe(200);
    expect(messageOf(granted)).toContain('已添加系统管理员');
    for (const role of ['audit', 'security']) {
      const second = await grant(person.phone, role, '兼任');
      expect(second.status).toBe(409);
      expect(messageOf(second)).toContain('一人只能担任一个角色');
    }
    // The command line on the server is held to the same rule.
    await expect(
      server.services.operators.add(person.id, 'audit', { actor: 'cli', reason: '兼任' }),
    ).rejects.toMatchObject({ code: 'one_role_only' });
    expect(await server.services.operators.roleOf(person.id)).toBe('system');
    // A value the form does not offer is no role at all.
    const made = await grant((await addCitizen(server, OPERATOR_PASSWORD)).phone, 'root', '新增');
    expect(made.status).toBe(400);
  });

  it('every role change reaches the 审计管理员s: an SMS, their 概览, and an audit row they read', async () => {
    const person = await addCitizen(server, OPERATOR_PASSWORD);
    const before = (await notices(auditor.phone)).length;
    expect((await grant(person.phone, 'system', '工单 2026-071 新增')).status).toBe(200);
    expect(await notices(auditor.phone)).toHaveLength(before + 1);
    expect((await remove(person.id, '工单 2026-072 移除')).status).toBe(200);
    expect(await notices(auditor.phone)).toHaveLength(before + 2);
    // The SMS names nobody: who, by whom and why are in the console, for the 审计管理员 only.
    expect(NOTICE).not.toContain(person.phone.slice(-4));

    // Changes made on the server's command line show the same way.
    const other = await addCitizen(server, OPERATOR_PASSWORD);
    await server.services.operators.add(other.id, 'system', { actor: 'cli', reason: '命令行新增' });
    expect(await notices(auditor.phone)).toHaveLength(before + 3);

    const overview = await auditorConsole.get(`${server.url}/console/stats`);
    expect(overview.status).toBe(200);
    const table = /<table class="list" id="role-changes">([\s\S]*?)<\/table>/.exec(overview.body)?.[1] ?? '';
    const masked = (phone: string) => `${phone.slice(0, 3)}****${phone.slice(-4)}`;
    expect(table).toContain('授予系统管理员');
    expect(table).toContain('移除系统管理员');
    expect(table).toContain('工单 2026-072 移除');
    expect(table).toContain(masked(person.phone));
    expect(table).toContain(masked(security.phone));
    expect(table).toContain('服务器命令行');
    // Not a page the granting role can see or change.
    expect((await securityConsole.get(`${server.url}/console/stats`)).status).toBe(403);

    const token = await operatorToken(server, adminSite, auditor.phone, auditorConsole);
    const res = await fetch(`${server.url}/admin/api/audit?type=admin.operator_removed`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toContainEqual(
      expect.objectContaining({
        account_id: person.id,
        actor: `operator:${security.id}`,
        detail: { role: 'system', reason: '工单 2026-072 移除' },
      }),
    );
  });

  it('the last 审计管理员 can not be removed, not even by two removals at once', async () => {
    const refused = await remove(auditor.id, '精简人员');
    expect(refused.status).toBe(409);
    expect(messageOf(refused)).toContain('最后一位审计管理员');
    await expect(
      server.services.operators.remove(auditor.id, { actor: 'cli', reason: '精简人员' }),
    ).rejects.toMatchObject({ code: 'last_auditor' });
    expect(await server.services.operators.roleOf(auditor.id)).toBe('audit');

    // With a second one, either may go, but not both.
    const second = await addCitizen(server, OPERATOR_PASSWORD);
    expect((await grant(second.phone, 'audit', '新增审计管理员')).status).toBe(200);
    const outcomes = await Promise.allSettled(
      [auditor.id, second.id].map((id) =>
        server.services.operators.remove(id, { actor: 'cli', reason: '调岗' }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'last_auditor' } });
    const left = (await server.services.operators.list()).filter((o) => o.role === 'audit');
    expect(left).toHaveLength(1);
    // The one removed is told as well as the one who stays.
    const gone = left[0]!.account === auditor.id ? second : auditor;
    expect((await smsOutbox(server, gone.phone))[0]?.text).toBe(NOTICE);
  });
});
