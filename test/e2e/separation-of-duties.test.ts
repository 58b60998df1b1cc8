import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOf } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { addOperator, consolePost, consoleSignIn, operatorToken } from '../support/operators.js';
import { type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { UserAgent } from '../support/user-agent.js';

/**
 * 三员分立 tried as a 系统管理员 who wants the other two roles' powers: read the audit log (审计管理员)
 * and lock the 安全管理员 out (安全管理员), by way of the console, an admin-scope site and machine clients.
 */
describe.each(databaseKinds())('a 系统管理员 can not take the other roles’ powers (%s)', (kind) => {
  let server: TestServer;
  let system: { phone: string; id: string };
  let security: { phone: string; id: string };
  let adminSite: RelyingParty;
  /** The 系统管理员's browser, signed in to the console, and the admin-API token it got there. */
  let systemConsole: UserAgent;
  let systemToken: string;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    system = await addOperator(server, 'system');
    security = await addOperator(server, 'security');
    await addOperator(server, 'audit');
    // The way operators sign in to the admin API with their own accounts: a site given the admin
    // scope by the command line on the server.
    adminSite = await registerRelyingParty(server, {
      name: '运维门户',
      grantTypes: ['authorization_code'],
      firstParty: true,
      scopes: ['openid', 'admin'],
    });
    systemConsole = (await consoleSignIn(server, system.phone)).ua;
    systemToken = await operatorToken(server, adminSite, system.phone, systemConsole);
  });
  afterAll(() => server?.close());

  const api = (bearer: string, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/admin/api${path}`, {
      ...init,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    });
  const post = (bearer: string, path: string, body: Record<string, unknown>) =>
    api(bearer, path, { method: 'POST', body: JSON.stringify(body) });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
  const machineToken = async (clientId: string, clientSecret: string) => {
    const config = await oidc.discovery(
      new URL(server.issuer),
      clientId,
      { client_secret: clientSecret },
      oidc.ClientSecretBasic(clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    return (await oidc.clientCredentialsGrant(config, { scope: 'admin' })).access_token;
  };
  const adminScopeClients = async () =>
    (await server.services.clients.list()).filter((c) => c.scope.split(' ').includes('admin'));
  const statusOf = async (id: string) => (await server.services.accounts.find(id))?.status;

  it('the console registers no site with a scope or a field its form does not offer', async () => {
    const ua = systemConsole;
    const before = (await adminScopeClients()).length;
    const site = {
      name: '伪装网站',
      redirectUris: 'https://evil.example/cb',
      reason: '正常接入',
    };
    const withAdmin = await consolePost(server, ua, '/console/sites/new', '/console/sites/new', {
      ...site,
      scopes: ['openid', 'admin'],
    });
    expect(withAdmin.status).toBe(400);
    expect(messageOf(withAdmin)).toContain('scopes');
    // Fields the form does not have are refused, not quietly dropped.
    const extras: Record<string, string>[] = [{ grantTypes: 'client_credentials' }, { adminRole: 'audit' }];
    for (const extra of extras) {
      const res = await consolePost(server, ua, '/console/sites/new', '/console/sites/new', {
        ...site,
        scopes: 'openid',
        ...extra,
      });
      expect(res.status).toBe(400);
    }
    expect(await adminScopeClients()).toHaveLength(before);
    expect((await server.services.clients.list()).some((c) => c.name === '伪装网站')).toBe(false);
    // What the form does offer still works.
    const fine = await consolePost(server, ua, '/console/sites/new', '/console/sites/new', {
      ...site,
      scopes: 'openid',
    });
    expect(fine.status).toBe(200);
    expect(messageOf(fine)).toContain('网站已登记');
  });

  it('a person registers admin machine clients only for their own role, and re-keys no other role’s', async () => {
    const token = systemToken;
    const machine = (adminRole?: string) => ({
      name: '自动化',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      ...(adminRole ? { adminRole } : {}),
      reason: '运维自动化',
    });
    for (const role of ['audit', 'security', undefined]) {
      const res = await post(token, '/clients', machine(role));
      expect(res.status, await res.clone().text()).toBe(403);
      expect(await errorOf(res)).toBe('role_forbidden');
    }
    // An admin-scope site (a person's sign-in) is the command line's to give, never the API's.
    const site = await post(token, '/clients', {
      name: '运维门户二',
      redirectUris: ['https://evil.example/cb'],
      scopes: ['openid', 'admin'],
      reason: '接入',
    });
    expect(site.status).toBe(403);
    expect(await errorOf(site)).toBe('admin_scope_cli_only');
    // A field the API does not know is refused, not dropped.
    const unknown = await post(token, '/clients', { ...machine('system'), admin_role: 'audit' });
    expect(unknown.status).toBe(400);

    // The 审计管理员's automation, registered on the server: not the 系统管理员's to re-key or switch off.
    const auditMachine = await registerRelyingParty(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      adminRole: 'audit',
    });
    const rekey = await post(token, `/clients/${auditMachine.clientId}/rotate-secret`, { reason: '轮换' });
    expect(rekey.status).toBe(403);
    expect(await errorOf(rekey)).toBe('role_forbidden');
    const off = await api(token, `/clients/${auditMachine.clientId}`, {
      method: 'PATCH',
      body: JSON.stringify({ disabled: true, reason: '停用' }),
    });
    expect(off.status).toBe(403);
    // Nor the admin site others sign in through (its secret would let its codes be redeemed).
    const portal = await post(token, `/clients/${adminSite.clientId}/rotate-secret`, { reason: '轮换' });
    expect(await errorOf(portal)).toBe('admin_scope_cli_only');
    // The console holds the same rules.
    const inConsole = await consolePost(
      server,
      systemConsole,
      `/console/sites/${auditMachine.clientId}`,
      `/console/sites/${auditMachine.clientId}/rotate-secret`,
      { reason: '轮换' },
    );
    expect(inConsole.status).toBe(403);
    expect(messageOf(inConsole)).toContain('审计管理员');
    expect((await machineToken(auditMachine.clientId, auditMachine.clientSecret!)).length).toBeGreaterThan(0);
  });

  it('a machine client of one role is refused on every other role’s endpoints', async () => {
    const token = systemToken;
    // Its own role's machine client is the 系统管理员's to register.
    const created = await post(token, '/clients', {
      name: '系统自动化',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      adminRole: 'system',
      reason: '运维自动化',
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { client_id, client_secret } = (await created.json()) as {
      client_id: string;
      client_secret: string;
    };
    const machine = await machineToken(client_id, client_secret);
    expect((await api(machine, '/keys')).status).toBe(200);

    for (const [path, init] of [
      ['/audit', {}],
      ['/audit/export', {}],
      ['/stats/logins', {}],
      [`/accounts?phone=${security.phone}`, {}],
      [`/accounts/${security.id}/lock`, { method: 'POST', body: JSON.stringify({ reason: '锁定' }) }],
    ] as const) {
      const res = await api(machine, path, init);
      expect(res.status, path).toBe(403);
      expect(await errorOf(res)).toBe('role_forbidden');
    }
    expect(await statusOf(security.id)).toBe('active');

    // The other way round: the 审计管理员's machine reads the log, and still locks nobody.
    const auditor = await registerRelyingParty(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      adminRole: 'audit',
    });
    const auditToken = await machineToken(auditor.clientId, auditor.clientSecret!);
    expect((await api(auditToken, '/audit?type=admin.client_created')).status).toBe(200);
    const lock = await post(auditToken, `/accounts/${security.id}/lock`, { reason: '锁定' });
    expect(lock.status).toBe(403);
    expect(await statusOf(security.id)).toBe('active');

    // Once its client is switched off (by its own role), its token stops at once.
    const off = await api(token, `/clients/${client_id}`, {
      method: 'PATCH',
      body: JSON.stringify({ disabled: true, reason: '停用' }),
    });
    expect(off.status).toBe(200);
    expect(await errorOf(await api(machine, '/keys'))).toBe('machine_without_role');
  });

  it('a machine client registered before roles held for machines reaches nothing', async () => {
    const legacy = await registerRelyingParty(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin'],
      adminRole: 'security',
    });
    const token = await machineToken(legacy.clientId, legacy.clientSecret!);
    await server.database.db('clients').where({ client_id: legacy.clientId }).update({ admin_role: null });
    for (const path of ['/keys', '/audit', `/accounts?phone=${security.phone}`]) {
      const res = await api(token, path);
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toBe('machine_without_role');
    }
  });

  it('the command line names the role of a machine client, and refuses one without', async () => {
    await expect(
      server.services.clients.add({
        name: '无角色',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        scopes: ['admin'],
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      server.services.clients.add({
        name: '网站',
        redirectUris: ['https://a.example/cb'],
        adminRole: 'audit',
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
