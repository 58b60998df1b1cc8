import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OperatorRole, roleForApiPath } from '../../src/access/operator-roles.js';
import { addCitizen, latestSmsCode, randomIdNumber, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  authorize,
  beginAuthorization,
  completeAuthorization,
  type RelyingParty,
  registerRelyingParty,
  signIn,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgent } from '../support/user-agent.js';

const PASSWORD = 'Ops-Test#2024';

describe.each(databaseKinds())('the admin API (%s)', (kind) => {
  let server: TestServer;
  /** Automation of each role (三员分立): a machine client acts for one role only. */
  const machines = {} as Record<OperatorRole, RelyingParty>;
  const tokens = {} as Record<OperatorRole, string>;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    for (const role of ['system', 'security', 'audit'] as const) {
      machines[role] = await registerRelyingParty(server, {
        name: `运维自动化（${role}）`,
        grantTypes: ['client_credentials'],
        redirectUris: [],
        scopes: ['admin'],
        adminRole: role,
      });
      tokens[role] = (
        await oidc.clientCredentialsGrant(machines[role].config, { scope: 'admin' })
      ).access_token;
    }
  });
  afterAll(() => server?.close());

  /** A call by the machine client of the role that owns the path, unless another bearer is given. */
  const api = (
    path: string,
    init: RequestInit = {},
    bearer = tokens[roleForApiPath(`/admin/api${path.split('?')[0]}`)!],
  ) =>
    fetch(`${server.url}/admin/api${path}`, {
      ...init,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...init.headers },
    });

  it('refuses requests without a token, with a bad one, or without the admin scope', async () => {
    expect((await fetch(`${server.url}/admin/api/clients`)).status).toBe(401);
    expect((await api('/clients', {}, 'not-a-token')).status).toBe(401);
    const site = await registerRelyingParty(server);
    const plain = (await oidc.clientCredentialsGrant(site.config, {})).access_token;
    const res = await api('/clients', {}, plain);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');
  });

  it('creates, lists, disables and rotates relying parties, each action audited', async () => {
    const created = await api('/clients', {
      method: 'POST',
      body: JSON.stringify({
        name: '某县政务服务网',
        redirectUris: ['https://county.example.gov.cn/cb'],
        reason: '县政务服务网接入',
      }),
    });
    expect(created.status).toBe(201);
    const { client_id, client_secret } = (await created.json()) as {
      client_id: string;
      client_secret: string;
    };
    expect(client_secret.length).toBeGreaterThanOrEqual(43);
    const listed = (await (await api('/clients')).json()) as { client_id: string }[];
    expect(listed.some((c) => c.client_id === client_id)).toBe(true);

    const bad = await api('/clients', {
      method: 'POST',
      body: JSON.stringify({ name: 'x', redirectUris: ['nope'], reason: '测试' }),
    });
    expect(bad.status).toBe(400);

    // A native app (RFC 8252): a public client, no secret, its application_type shown.
    const app = await api('/clients', {
      method: 'POST',
      body: JSON.stringify({
        name: '某县政务App',
        applicationType: 'native',
        redirectUris: ['http://127.0.0.1/cb', 'cn.gov.example.county:/cb'],
        reason: '县政务App接入',
      }),
    });
    expect(app.status).toBe(201);
    const appCreated = (await app.json()) as { client_id: string; client_secret?: string };
    expect(appCreated.client_secret).toBeUndefined();
    expect(await (await api(`/clients/${appCreated.client_id}`)).json()).toMatchObject({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
    });
    const nativeWithSecret = await api('/clients', {
      method: 'POST',
      body: JSON.stringify({
        name: 'x',
        applicationType: 'native',
        authMethod: 'client_secret_post',
        redirectUris: ['http://127.0.0.1/cb'],
        reason: '测试',
      }),
    });
    expect(nativeWithSecret.status).toBe(400);
    // No change without a reason: the audit records why.
    const unexplained = await api('/clients', {
      method: 'POST',
      body: JSON.stringify({ name: '某乡服务站', redirectUris: ['https://xiang.example.gov.cn/cb'] }),
    });
    expect(unexplained.status).toBe(400);
    expect(await unexplained.json()).toMatchObject({ error: 'invalid_request' });

    const disabled = await api(`/clients/${client_id}`, {
      method: 'PATCH',
      body: JSON.stringify({ disabled: true, reason: '网站停止服务' }),
    });
    expect(((await disabled.json()) as { disabled: boolean }).disabled).toBe(true);
    const rotated = (await (
      await api(`/clients/${client_id}/rotate-secret`, {
        method: 'POST',
        body: JSON.stringify({ reason: '密钥泄露' }),
      })
    ).json()) as {
      client_secret: string;
    };
    expect(rotated.client_secret).not.toBe(client_secret);

    const log = (await (await api('/audit?type=admin.client_created')).json()) as {
      actor: string;
      detail: { clientId: string; reason: string };
    }[];
    const row = log.find((r) => r.detail.clientId === client_id);
    expect(row?.actor).toBe(`admin:${machines.system.clientId}`);
    expect(row?.detail).toMatchObject({ clientId: client_id, reason: '县政务服务网接入' });
  });

  it('finds accounts masked, shows the whole ID number only with a reason, and locks and signs out', async () => {
    const idNumber = randomIdNumber();
    const { phone, id } = await addCitizen(server, PASSWORD, { realName: '王安石', idNumber });
    const ua = new UserAgent();
    const site = await registerRelyingParty(server, { firstParty: true });
    await signIn(ua, site, { login: { login: phone, password: PASSWORD } });

    const found = (await (await api(`/accounts?phone=${phone}`)).json()) as {
      id: string;
      idNumberMasked: string;
    }[];
    expect(found[0]!.idNumberMasked).toBe(`${idNumber.slice(0, 4)}**********${idNumber.slice(14)}`);
    expect(JSON.stringify(found)).not.toContain(idNumber);

    expect((await api(`/accounts/${id}/identity`, { method: 'POST', body: '{}' })).status).toBe(400);
    const whole = (await (
      await api(`/accounts/${id}/identity`, {
        method: 'POST',
        body: JSON.stringify({ reason: '公安协查函 2026-001' }),
      })
    ).json()) as { idNumber: string };
    expect(whole.idNumber).toBe(idNumber);
    const revealLog = (await (await api(`/audit?account=${id}&type=admin.identity_revealed`)).json()) as {
      detail: { reason: string; idNumber: string };
    }[];
    expect(revealLog[0]!.detail.reason).toBe('公安协查函 2026-001');
    expect(revealLog[0]!.detail.idNumber).not.toBe(idNumber);

    const locked = await api(`/accounts/${id}/lock`, {
      method: 'POST',
      body: JSON.stringify({ reason: '账号被盗用' }),
    });
    expect(((await locked.json()) as { status: string }).status).toBe('locked');
    const silent = await authorize(ua, site, { params: { prompt: 'none' } });
    expect(silent.callbackUrl?.searchParams.get('error')).toBe('login_required');
    const refused = await authorize(new UserAgent(), site, { login: { login: phone, password: PASSWORD } });
    expect(refused.callbackUrl).toBeUndefined();
  });

  it('lists and rotates keys, exports the audit log, and counts logins per day', async () => {
    const keys = (await (await api('/keys')).json()) as { state: string }[];
    expect(keys.filter((k) => k.state === 'current')).toHaveLength(2);
    const rotated = (await (
      await api('/keys/rotate', { method: 'POST', body: JSON.stringify({ reason: '例行轮换' }) })
    ).json()) as { state: string }[];
    expect(rotated.filter((k) => k.state === 'retired').length).toBeGreaterThanOrEqual(2);
    const exportOnce = async () => {
      const res = await api('/audit/export');
      expect(res.headers.get('content-type')).toContain('application/x-ndjson');
      return (await res.text())
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { id: number; type: string; prev_hash: string; hash: string; detail: object },
        );
    };
    const lines = await exportOnce();
    expect(lines.length).toBeGreaterThan(3);
    // An auditor can re-check the links of the exported chain line by line.
    expect(lines[0]!.prev_hash).toBe('genesis');
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.prev_hash).toBe(lines[i - 1]!.hash);
    // The export itself is an audited action, naming the last row it covered.
    const again = await exportOnce();
    const recorded = again.find((l) => l.type === 'admin.audit_exported');
    expect(recorded?.detail).toEqual({ throughId: Number(lines.at(-1)!.id) });
    const stats = (await (await api('/stats/logins?days=7')).json()) as {
      logins: { day: string; method: string; outcome: string; level: string | null; count: number }[];
      accountsByLevel: { level: string; count: number }[];
    };
    // 王安石's password sign-in above, counted under his level, on today's date in Beijing.
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    expect(
      stats.logins.find(
        (l) => l.day === today && l.method === 'password' && l.outcome === 'success' && l.level === 'L2',
      )?.count,
    ).toBeGreaterThan(0);
    expect(stats.accountsByLevel.find((l) => l.level === 'L2')?.count).toBeGreaterThan(0);
    const badDays = await api('/stats/logins?days=0');
    expect(badDays.status).toBe(400);
    expect(await badDays.json()).toMatchObject({ error: 'invalid_request' });
    expect(await server.services.audit.verify()).toMatchObject({ ok: true });
  });

  describe('signed in as a person', () => {
    let adminConsole: RelyingParty;
    beforeAll(async () => {
      adminConsole = await registerRelyingParty(server, {
        name: '运维控制台',
        grantTypes: ['authorization_code'],
        firstParty: true,
        scopes: ['openid', 'admin'],
      });
    });

    /** Password, then the step-up the admin scope demands (an SMS code): the console's access token. */
    async function adminTokenOf(phone: string): Promise<{ accessToken: string; stepUpShown: boolean }> {
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, adminConsole, { scope: 'openid admin' });
      const afterPassword = await submit(ua, start.page, '/login', { login: phone, password: PASSWORD });
      const stepUpShown = afterPassword.body.includes('安全验证');
      const sent = await submit(ua, afterPassword, '/step-up', { action: 'send_sms' });
      const done = await submit(
        ua,
        sent,
        '/step-up',
        { sms_code: (await latestSmsCode(server, phone))!, action: 'verify' },
        adminConsole.redirectUri,
      );
      const { tokens } = await completeAuthorization(ua, adminConsole, start, done);
      expect(tokens!.claims()!.acr).toBe('urn:unified-id:acr:mfa');
      return { accessToken: tokens!.access_token, stepUpShown };
    }

    it('accepts an operator after a second factor, refuses others, and audits the person as the actor', async () => {
      const person = await addCitizen(server, PASSWORD);
      await server.services.operators.add(person.phone, 'system', { actor: 'test', reason: '测试' });
      const { accessToken, stepUpShown } = await adminTokenOf(person.phone);
      // A password alone is not enough to get an admin token: the step-up page comes first.
      expect(stepUpShown).toBe(true);

      const created = await api(
        '/clients',
        {
          method: 'POST',
          body: JSON.stringify({
            name: '某区政务服务网',
            redirectUris: ['https://qu.example.gov.cn/cb'],
            reason: '区政务服务网接入',
          }),
        },
        accessToken,
      );
      expect(created.status).toBe(201);
      const row = await server.database
        .db('audit_events')
        .where({ type: 'admin.client_created', actor: `operator:${person.id}` })
        .first();
      expect(row).toBeTruthy();

      // Someone who is not an operator gets nowhere with the same kind of token.
      const stranger = await addCitizen(server, PASSWORD);
      const theirs = await adminTokenOf(stranger.phone);
      const refused = await api('/clients', {}, theirs.accessToken);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: 'not_an_operator' });

      // Removing an operator takes effect at once, for the token already issued too.
      await server.services.operators.remove(person.phone, { actor: 'test', reason: '测试' });
      expect((await api('/clients', {}, accessToken)).status).toBe(403);
      expect(
        await server.database.db('audit_events').where({ type: 'admin.operator_removed' }).first(),
      ).toMatchObject({
        actor: 'test',
        account_id: person.id,
      });
    });

    it('lets each of the three roles reach only its own part of the API (三员分立)', async () => {
      const tokens: Record<string, string> = {};
      for (const role of ['system', 'security', 'audit'] as const) {
        const person = await addCitizen(server, PASSWORD);
        await server.services.operators.add(person.id, role, { actor: 'test', reason: '测试' });
        tokens[role] = (await adminTokenOf(person.phone)).accessToken;
      }
      const own = { system: '/keys', security: `/accounts?phone=13800000000`, audit: '/stats/logins' };
      for (const [role, token] of Object.entries(tokens)) {
        for (const [owner, path] of Object.entries(own)) {
          const res = await api(path, {}, token);
          if (owner === role) {
            expect(res.status).toBe(200);
          } else {
            expect(res.status).toBe(403);
            const body = (await res.json()) as { error: string; error_description: string };
            expect(body.error).toBe('role_forbidden');
            expect(body.error_description).toContain('三员分立');
          }
        }
      }
      // Automation is held to its one role the same way.
      for (const [role, token] of Object.entries(tokens)) {
        for (const [owner, path] of Object.entries(own)) {
          expect((await api(path, {}, token)).status).toBe(owner === role ? 200 : 403);
        }
      }
    });

    it("refuses a person's admin token that does not carry a strong sign-in", async () => {
      const person = await addCitizen(server, PASSWORD);
      await server.services.operators.add(person.id, 'system', { actor: 'test', reason: '测试' });
      const { accessToken } = await adminTokenOf(person.phone);
      // As a token issued before this check existed would be: no acr kept with it.
      await server.database
        .db('oidc_models')
        .where({ model: 'AccessToken', id: accessToken })
        .update({ payload: server.database.db.raw(`payload - 'extra'`) });
      const res = await api('/clients', {}, accessToken);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'insufficient_user_authentication' });
      expect(res.headers.get('www-authenticate')).toContain('acr_values="urn:unified-id:acr:mfa"');
    });
  });
});
