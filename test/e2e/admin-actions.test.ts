import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminActions } from '../../src/admin/admin-actions.js';
import { addCitizen, randomIdNumber } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'Shen-Ji#2024';

describe.each(databaseKinds())('the audited admin actions behind the console, API and CLI (%s)', (kind) => {
  let server: TestServer;
  let actions: AdminActions;
  const by = { actor: 'operator:test', reason: '工单 2026-042' };

  beforeAll(async () => {
    server = await startTestServer({ kind });
    const s = server.services;
    actions = new AdminActions({
      clients: s.clients,
      accounts: s.accounts,
      keys: s.keys,
      audit: s.audit,
      revoker: { revokeAll: async () => 0 },
      loginGuard: s.loginGuard,
      realName: s.realName,
      queries: s.adminQueries,
      resources: s.resources,
    });
  });
  afterAll(() => server?.close());

  const lastRow = (type: string) =>
    server.database.db('audit_events').where({ type }).orderBy('id', 'desc').first();

  it('corrects a verified identity, checked like a first verification, audited masked', async () => {
    const wrong = randomIdNumber();
    const { id } = await addCitizen(server, PASSWORD, { realName: '张珊', idNumber: wrong });
    const right = randomIdNumber('19900308');
    await actions.correctIdentity(id, { realName: '张三', idNumber: right }, by);
    expect(await actions.revealIdentity(id, by)).toMatchObject({ realName: '张三', idNumber: right });
    // The person now signs in with the corrected number, and the old one finds nobody.
    expect((await server.services.accounts.findByLogin(right))?.id).toBe(id);
    expect(await server.services.accounts.findByLogin(wrong)).toBeUndefined();
    const row = await lastRow('admin.identity_corrected');
    expect(row).toMatchObject({ actor: 'operator:test', account_id: id });
    expect(JSON.stringify(row.detail)).not.toContain(right);
    expect(JSON.stringify(row.detail)).toContain('工单 2026-042');

    // One ID number, one account: a correction can not take another citizen's.
    const other = await addCitizen(server, PASSWORD, {
      realName: '李四',
      idNumber: randomIdNumber('19850101'),
    });
    await expect(
      actions.correctIdentity(other.id, { realName: '张三', idNumber: right }, by),
    ).rejects.toMatchObject({ code: 'id_number_taken' });
    // An unverified account has nothing to correct: it verifies itself in 用户空间.
    const unverified = await addCitizen(server, PASSWORD);
    await expect(
      actions.correctIdentity(unverified.id, { realName: '王五', idNumber: randomIdNumber('19800101') }, by),
    ).rejects.toMatchObject({ code: 'not_verified' });
  });

  it('clears the failed-login counter and the password lock it set', async () => {
    const { id, phone } = await addCitizen(server, PASSWORD);
    for (let i = 0; i < 10; i++) {
      await server.services.accounts.authenticatePassword(phone, 'Wrong-Pass#1').catch(() => undefined);
    }
    expect((await server.services.accounts.find(id))?.password_locked_until).toBeTruthy();
    await actions.clearLoginFailures(phone, by);
    const account = await server.services.accounts.find(id);
    expect(account).toMatchObject({ failed_logins: 0, password_locked_until: null });
    expect((await server.services.accounts.authenticatePassword(phone, PASSWORD)).id).toBe(id);
    expect((await lastRow('admin.login_failures_cleared')).detail).toMatchObject({ failedLogins: 10 });
  });

  it('exports the audit rows a search matches, up to the newest when it began, and audits the export', async () => {
    const rows = await actions.exportAuditSearch({ type: 'admin.identity_corrected' }, by);
    const exported = [];
    for await (const row of rows) exported.push(row);
    expect(exported.map((r) => r.type)).toEqual(['admin.identity_corrected']);
    expect((await lastRow('admin.audit_exported')).detail).toMatchObject({
      filter: { type: 'admin.identity_corrected' },
      reason: '工单 2026-042',
    });
    expect(await server.services.audit.verify()).toMatchObject({ ok: true });
  });
});
