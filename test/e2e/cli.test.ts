import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputUntil, runCli, runCliProcess, spawnCli, stop } from '../support/cli.js';
import { copyEmbeddedTemplate } from '../support/embedded-template.js';
import { freePort } from '../support/server.js';

// An embedded database already made and migrated, as after a first start.
const dataDir = copyEmbeddedTemplate();
const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
const cli = (...args: string[]) => runCli(args, env);
const auditRows = async () =>
  JSON.parse((await cli('audit', 'list', '--limit', '1000', '--json')).stdout) as {
    type: string;
    actor: string;
    detail: Record<string, unknown>;
  }[];

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the unified-id command line, on the embedded database', { timeout: 300_000 }, () => {
  it('registers a site and prints its credentials as JSON', async () => {
    const { stdout } = await cli(
      'clients',
      'add',
      '--name',
      '某市政务服务网',
      '--redirect-uri',
      'https://city.example.gov.cn/oidc/callback',
      '--scopes',
      'openid,profile,phone',
      '--reason',
      '某市接入统一身份认证',
      '--json',
    );
    const created = JSON.parse(stdout) as { client_id: string; client_secret: string };
    expect(created.client_id).toMatch(/^rp_/);
    expect(Buffer.from(created.client_secret, 'base64url').length).toBeGreaterThanOrEqual(32);

    const listed = JSON.parse((await cli('clients', 'list', '--json')).stdout) as {
      client_id: string;
      name: string;
    }[];
    expect(listed.find((c) => c.client_id === created.client_id)?.name).toBe('某市政务服务网');
    // The secret is shown once, never in listings.
    expect(JSON.stringify(listed)).not.toContain(created.client_secret);

    await cli('clients', 'remove', created.client_id, '--reason', '网站下线');
    const rows = await auditRows();
    expect(rows.find((r) => r.type === 'admin.client_created')).toMatchObject({
      actor: 'cli',
      detail: { clientId: created.client_id, reason: '某市接入统一身份认证' },
    });
    expect(rows.find((r) => r.type === 'admin.client_removed')?.detail).toMatchObject({ reason: '网站下线' });
    const gone = await cli('clients', 'show', created.client_id).catch((e) => e);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no such client/);
  });

  it('reports which algorithm holds each sealed column, and moves a site’s secret to CRYPTO_PROFILE=gm with an audit record', async () => {
    const standard = { ...env, CRYPTO_PROFILE: 'standard' };
    const gm = { ...env, CRYPTO_PROFILE: 'gm' };
    const { stdout } = await runCli(
      [
        'clients',
        'add',
        '--name',
        '密评前的网站',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'openid',
        '--reason',
        '接入',
        '--json',
      ],
      standard,
    );
    const created = JSON.parse(stdout) as { client_id: string; client_secret: string };
    type Status = {
      profile: string;
      columns: { name: string; rows: Record<string, number>; behind: number }[];
    };
    const secrets = (status: Status) => status.columns.find((c) => c.name === 'clients.client_secret')!;
    const before = JSON.parse((await runCli(['crypto', 'status', '--json'], gm)).stdout) as Status;
    expect(before.profile).toBe('gm');
    expect(secrets(before).rows['aes-256-gcm']).toBeGreaterThanOrEqual(1);
    expect(secrets(before).behind).toBeGreaterThanOrEqual(1);

    const run = await runCli(['crypto', 'migrate', '--reason', '密评整改'], gm);
    expect(run.stdout).toMatch(/clients\.client_secret: \d+ moved, 0 changed meanwhile, 0 failed/);
    expect(run.stdout).toMatch(/clients\.client_secret \[sealed\]: sm4-cbc\+hmac-sm3=\d+/);
    const after = JSON.parse((await runCli(['crypto', 'status', '--json'], gm)).stdout) as Status;
    expect(secrets(after)).toMatchObject({ behind: 0 });
    // Still this site's secret, read by a process of either profile.
    expect((await runCli(['clients', 'show', created.client_id, '--json'], standard)).stdout).toContain(
      created.client_id,
    );

    const migrated = (await auditRows()).filter((r) => r.type === 'admin.crypto_migrated');
    expect(migrated.map((r) => r.detail['phase']).sort()).toEqual(['finished', 'started']);
    expect(migrated.every((r) => r.actor === 'cli' && r.detail['reason'] === '密评整改')).toBe(true);
    expect(migrated.find((r) => r.detail['phase'] === 'finished')?.detail).toMatchObject({
      profile: 'gm',
      failed: 0,
    });
  });

  // In a process of its own: what an operator's shell sees is the bin script's exit code and stderr.
  it('refuses a malformed redirect URI with a message, not a stack trace', async () => {
    const failed = await runCliProcess(
      ['clients', 'add', '--name', 'x', '--redirect-uri', 'not a url', '--reason', '测试'],
      env,
    ).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/redirectUris/);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
  });

  it('registers a native app (RFC 8252) as a public client, with loopback and private-use redirects', async () => {
    const { stdout } = await cli(
      'clients',
      'add',
      '--name',
      '某市政务App',
      '--application-type',
      'native',
      '--redirect-uri',
      'http://127.0.0.1/oauth2redirect',
      '--redirect-uri',
      'cn.gov.example.city:/oauth2redirect',
      '--reason',
      '某市App接入',
      '--json',
    );
    const created = JSON.parse(stdout) as { client_id: string; client_secret?: string };
    expect(created.client_secret).toBeUndefined();
    const shown = JSON.parse((await cli('clients', 'show', created.client_id, '--json')).stdout) as {
      application_type: string;
      token_endpoint_auth_method: string;
      redirect_uris: string[];
    };
    expect(shown).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none' });
    expect(shown.redirect_uris).toContain('cn.gov.example.city:/oauth2redirect');

    const secret = await cli(
      'clients',
      'add',
      '--name',
      'x',
      '--application-type',
      'native',
      '--auth-method',
      'client_secret_basic',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--reason',
      '测试',
    ).catch((e) => e);
    expect(secret.code).toBe(1);
    expect(secret.stderr).toMatch(/public client/);
    // A web site's redirect URIs stay http(s) URLs.
    const web = await cli(
      'clients',
      'add',
      '--name',
      'x',
      '--redirect-uri',
      'cn.gov.example.city:/cb',
      '--reason',
      '测试',
    ).catch((e) => e);
    expect(web.code).toBe(1);
    expect(web.stderr).toMatch(/native/);
  });

  it('creates accounts under the password rules and shows them masked', async () => {
    const weak = await cli('accounts', 'add', '--phone', '13800138000', '--password', '12345678').catch(
      (e) => e,
    );
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/密码/);
    const { stdout } = await cli(
      'accounts',
      'add',
      '--phone',
      '13800138000',
      '--password',
      'Strong#Pass2024',
      '--json',
    );
    const account = JSON.parse(stdout) as { phoneMasked: string; certificationLevel: string };
    expect(account.phoneMasked).toBe('138****8000');
    expect(account.certificationLevel).toBe('L1');
    const unexplained = await cli('accounts', 'lock', '13800138000').catch((e) => e);
    expect(unexplained.code).toBe(1);
    expect(unexplained.stderr).toMatch(/--reason/);
    const locked = JSON.parse(
      (await cli('accounts', 'lock', '13800138000', '--reason', '疑似被盗用', '--json')).stdout,
    ) as { status: string };
    expect(locked.status).toBe('locked');
  });

  it('makes an account an operator of the admin API and takes it back, both audited', async () => {
    await cli('accounts', 'add', '--phone', '13900139000', '--password', 'Strong#Pass2024');
    const roleless = await cli('operators', 'add', '13900139000', '--reason', '初始化').catch((e) => e);
    expect(roleless.code).toBe(1);
    expect(roleless.stderr).toMatch(/--role/);
    const added = JSON.parse(
      (await cli('operators', 'add', '13900139000', '--role', 'security', '--reason', '初始化', '--json'))
        .stdout,
    ) as { phone: string; operator: boolean; changed: boolean };
    expect(added).toMatchObject({ phone: '139****9000', operator: true, role: 'security', changed: true });
    // 三员分立: one role per person.
    const second = await cli('operators', 'add', '13900139000', '--role', 'audit', '--reason', '兼任').catch(
      (e) => e,
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/一人只能担任一个角色/);
    const listed = JSON.parse((await cli('operators', 'list', '--json')).stdout) as {
      phone: string;
      role: string;
    }[];
    expect(listed.map((o) => [o.phone, o.role])).toEqual([['139****9000', 'security']]);
    const removed = JSON.parse(
      (await cli('operators', 'remove', '13900139000', '--reason', '离职', '--json')).stdout,
    );
    expect(removed).toMatchObject({ operator: false, changed: true });
    expect(JSON.parse((await cli('operators', 'list', '--json')).stdout)).toEqual([]);
    const unknown = await cli('operators', 'add', '13700137000', '--role', 'audit', '--reason', '测试').catch(
      (e) => e,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no such account/);
    expect((await cli('audit', 'verify', '--json')).stdout).toContain('"ok": true');
  });

  it("registers a site's API for JWT access tokens, lists it and removes it, both audited", async () => {
    const identifier = 'https://api.example.gov.cn';
    const added = JSON.parse(
      (
        await cli(
          'resources',
          'add',
          '--identifier',
          identifier,
          '--scopes',
          'orders:read,orders:write',
          '--format',
          'jwt',
          '--ttl',
          '600',
          '--reason',
          '订单接口接入',
          '--json',
        )
      ).stdout,
    );
    expect(added).toMatchObject({
      identifier,
      scopes: ['orders:read', 'orders:write'],
      format: 'jwt',
      ttl: 600,
      client_id: expect.stringMatching(/^api_/),
      client_secret: expect.any(String),
    });
    const listed = JSON.parse((await cli('resources', 'list', '--json')).stdout) as {
      identifier: string;
      client_id: string;
    }[];
    expect(listed.map((r) => r.identifier)).toEqual([identifier]);
    // The listing names the API's client id; its secret was shown once and is not kept readable.
    expect(listed[0]!.client_id).toBe(added.client_id);
    expect(JSON.stringify(listed)).not.toContain(added.client_secret);
    const rotated = JSON.parse(
      (await cli('resources', 'rotate-secret', identifier, '--reason', '密钥泄露', '--json')).stdout,
    );
    expect(rotated.client_id).toBe(added.client_id);
    expect(rotated.client_secret).not.toBe(added.client_secret);
    const unknown = await cli(
      'resources',
      'rotate-secret',
      'https://none.example.gov.cn',
      '--reason',
      '测试',
    ).catch((e) => e);
    expect(unknown.code).toBe(1);
    // Each command opens the database anew: the removal's audit row stands for the list after it.
    await cli('resources', 'remove', identifier, '--reason', '接口下线');
    const rows = await auditRows();
    expect(rows.find((r) => r.type === 'admin.resource_server_added')).toMatchObject({
      actor: 'cli',
      detail: { identifier, format: 'jwt', reason: '订单接口接入' },
    });
    expect(rows.find((r) => r.type === 'admin.resource_server_secret_rotated')?.detail).toMatchObject({
      identifier,
      clientId: added.client_id,
      reason: '密钥泄露',
    });
    expect(JSON.stringify(rows)).not.toContain(rotated.client_secret);
    expect(rows.find((r) => r.type === 'admin.resource_server_removed')?.detail).toMatchObject({
      identifier,
      reason: '接口下线',
    });
  });

  it('lists and rotates signing keys, keeping a staged key published ahead of use', async () => {
    const before = JSON.parse((await cli('keys', 'list', '--json')).stdout) as {
      kid: string;
      state: string;
      alg: string;
    }[];
    const stagedEs = before.find((k) => k.alg === 'ES256' && k.state === 'next')!;
    const after = JSON.parse((await cli('keys', 'rotate', '--reason', '例行轮换', '--json')).stdout) as {
      kid: string;
      state: string;
      alg: string;
    }[];
    expect(after.find((k) => k.kid === stagedEs.kid)?.state).toBe('current');
    expect(after.filter((k) => k.alg === 'ES256' && k.state === 'next')).toHaveLength(1);
    expect(after.filter((k) => k.state === 'retired').length).toBeGreaterThanOrEqual(2);
  });

  it('makes a development CA, an enterprise certificate as PKCS#12, and a CRL', async () => {
    const certs = mkdtempSync(path.join(tmpdir(), 'uid-cli-certs-'));
    const withCerts = { ...env, CERTS_DIR: certs };
    const devCa = (...args: string[]) => runCli(['dev-ca', ...args], withCerts);
    await devCa('init', '--algorithm', 'ECDSA-P256');
    const again = await devCa('init', '--algorithm', 'ECDSA-P256').catch((e) => e);
    expect(again.code).toBe(1);
    const p12 = path.join(certs, 'company.p12');
    const { stdout } = await devCa(
      'issue',
      '--credit-code',
      '91350100M000100Y43',
      '--org',
      '某某有限公司',
      '--ca-algorithm',
      'ECDSA-P256',
      '--algorithm',
      'RSA',
      '--p12',
      p12,
      '--password',
      'secret-1',
    );
    expect(stdout).toContain('PKCS#12');
    const { parseCertificate } = await import('../../src/pki/certificate.js');
    const issuedFile = /certificate: (\S+)/.exec(stdout)![1]!;
    const parsed = parseCertificate(readFileSync(issuedFile, 'utf8'));
    expect(parsed.ok && parsed.certificate.creditCode).toBe('91350100M000100Y43');
    expect(readFileSync(p12).length).toBeGreaterThan(1000);
    const crl = await devCa(
      'crl',
      '--ca-algorithm',
      'ECDSA-P256',
      '--revoke',
      parsed.ok ? parsed.certificate.serialNumberHex : '01',
    );
    expect(crl.stdout).toContain('1 revoked');
  });

  it('will not open the embedded database while the server holds it', async () => {
    const port = await freePort();
    const server = spawnCli(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await outputUntil(server, (output) => output.includes('discovery:'));
      const busy = await cli('clients', 'list').catch((e) => e);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/in use by process \d+/);
      const discovery = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
      expect(discovery.status).toBe(200);
    } finally {
      await stop(server);
    }
    // After a clean stop the lock is released.
    await expect(cli('clients', 'list', '--json')).resolves.toBeTruthy();
  });
});
