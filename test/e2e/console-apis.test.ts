import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOf } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import { addOperator, consolePost, consoleSignIn } from '../support/operators.js';
import { type RelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { UserAgent } from '../support/user-agent.js';

const API = 'https://orders.example.gov.cn';

/**
 * API 资源服务 in 管理后台: the 系统管理员 sees the registered APIs and re-keys one whose secret
 * leaked; the new secret is shown once and the old one stops at once. The other roles can not.
 */
describe.each(databaseKinds())('the console manages the APIs’ credentials (%s)', (kind) => {
  let server: TestServer;
  let site: RelyingParty;
  let system: UserAgent;
  let security: UserAgent;
  let audit: UserAgent;
  let original: { client_id: string; client_secret: string };

  beforeAll(async () => {
    server = await startTestServer({ kind });
    original = await server.services.resources.add({
      identifier: API,
      scopes: ['orders:read'],
      format: 'opaque',
      ttl: 300,
    });
    site = await registerRelyingParty(server);
    const [s, sec, aud] = await Promise.all([
      addOperator(server, 'system'),
      addOperator(server, 'security'),
      addOperator(server, 'audit'),
    ]);
    system = (await consoleSignIn(server, s.phone)).ua;
    security = (await consoleSignIn(server, sec.phone)).ua;
    audit = (await consoleSignIn(server, aud.phone)).ua;
  });
  afterAll(() => server?.close());

  /** RFC 7662 introspection as the API itself, with client_secret_basic. */
  const introspect = (clientId: string, secret: string, token: string) =>
    fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
  const apiToken = async () =>
    (await oidc.clientCredentialsGrant(site.config, { scope: 'orders:read', resource: API })).access_token;
  const rotate = (ua: UserAgent, fields: Record<string, string>, formPath = '/console/apis') =>
    consolePost(server, ua, formPath, '/console/apis/rotate-secret', fields);

  it('a 系统管理员 lists the APIs and re-keys one: the new secret introspects, the old gets 401', async () => {
    const list = await system.get(`${server.url}/console/apis`);
    expect(list.status).toBe(200);
    expect(list.body).toContain(API);
    expect(list.body).toContain('不透明');
    expect(list.body).toContain('orders:read');
    expect(list.body).toContain(original.client_id);
    expect(list.body).toContain('重置密钥');
    expect(list.body).not.toContain(original.client_secret);
    const token = await apiToken();
    expect((await introspect(original.client_id, original.client_secret, token)).status).toBe(200);

    const noReason = await rotate(system, { identifier: API, reason: '' });
    expect(noReason.status).toBe(400);
    expect(messageOf(noReason)).toContain('原因');
    expect((await introspect(original.client_id, original.client_secret, token)).status).toBe(200);

    const page = await rotate(system, { identifier: API, reason: '密钥泄露' });
    expect(page.status).toBe(200);
    expect(messageOf(page)).toContain('旧密钥立即失效');
    const secret = /<code id="client-secret">([^<]+)<\/code>/.exec(page.body)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(original.client_secret);

    const fresh = await introspect(original.client_id, secret!, token);
    expect(fresh.status).toBe(200);
    expect(await fresh.json()).toMatchObject({ active: true, aud: API, scope: 'orders:read' });
    const old = await introspect(original.client_id, original.client_secret, token);
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: string }).error).toBe('invalid_client');

    // Shown once: the list does not show it again.
    expect((await system.get(`${server.url}/console/apis`)).body).not.toContain(secret!);
    const events = await server.services.audit.query({ limit: 50 });
    const rotated = events.filter((e) => e.type === 'admin.resource_server_secret_rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({
      actor: expect.stringMatching(/^operator:/),
      detail: { identifier: API, clientId: original.client_id, reason: '密钥泄露' },
    });
    expect(JSON.stringify(rotated[0])).not.toContain(secret!);
    original = { client_id: original.client_id, client_secret: secret! };
  });

  it('an unknown API is refused and nothing is rotated', async () => {
    const page = await rotate(system, { identifier: 'https://nobody.example.gov.cn', reason: '试探' });
    expect(page.status).toBe(404);
    expect(page.body).not.toContain('id="client-secret"');
  });

  it('a 安全管理员 or 审计管理员 can not see or re-key the APIs', async () => {
    for (const [ua, home] of [
      [security, '/console/operators'],
      [audit, '/console/audit'],
    ] as const) {
      const list = await ua.get(`${server.url}/console/apis`);
      expect(list.status).toBe(403);
      expect(messageOf(list)).toContain('系统管理员');
      expect(list.body).not.toContain(API);
      // With a valid CSRF token of its own console session, the change is still refused.
      const res = await rotate(ua, { identifier: API, reason: '越权' }, home);
      expect(res.status).toBe(403);
      expect(res.body).not.toContain('id="client-secret"');
      // The menu does not offer the page either.
      expect((await ua.get(`${server.url}${home}`)).body).not.toContain('/console/apis');
    }
    expect((await introspect(original.client_id, original.client_secret, 'x')).status).toBe(200);
  });

  it('a re-key without the CSRF token, or with another browser’s, is refused', async () => {
    const bare = await system.request(`${server.url}/console/apis/rotate-secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ identifier: API, reason: '跨站请求' }).toString(),
    });
    expect(bare.status).toBe(403);
    const othersToken = /name="_csrf" value="([^"]*)"/.exec(
      (await security.get(`${server.url}/console/operators`)).body,
    )?.[1];
    expect(othersToken).toBeDefined();
    const forged = await system.request(`${server.url}/console/apis/rotate-secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: othersToken!, identifier: API, reason: '跨站请求' }).toString(),
    });
    expect(forged.status).toBe(403);
    expect((await introspect(original.client_id, original.client_secret, 'x')).status).toBe(200);
    const events = await server.services.audit.query({ limit: 50 });
    expect(events.filter((e) => e.type === 'admin.resource_server_secret_rotated')).toHaveLength(1);
  });
});
