import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const dataDir = () => mkdtempSync(path.join(tmpdir(), 'uid-config-'));
const secrets = {
  COOKIE_KEYS: 'k'.repeat(32),
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('configuration read at start-up', () => {
  it('runs a fresh clone with no settings: localhost issuer, generated secrets kept for the next start', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.issuer).toBe('http://localhost:3000');
    expect(first.devMode).toBe(true);
    expect(first.dataEncryptionKey).toHaveLength(32);
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.cookieKeys).toEqual(first.cookieKeys);
    expect(second.dataEncryptionKey.equals(first.dataEncryptionKey)).toBe(true);
  });

  it('keeps audit rows at least the six months 等保 asks for', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).audit.retentionDays).toBe(180);
    expect(() => loadConfig({ DATA_DIR: dataDir(), AUDIT_RETENTION_DAYS: '90' })).toThrow(
      /AUDIT_RETENTION_DAYS/,
    );
    expect(loadConfig({ DATA_DIR: dataDir(), AUDIT_RETENTION_DAYS: '365' }).audit.retentionDays).toBe(365);
  });

  it('reads TRUST_PROXY as the number of proxies in front, true meaning one', () => {
    const hops = (value?: string) =>
      loadConfig({ DATA_DIR: dataDir(), ...(value === undefined ? {} : { TRUST_PROXY: value }) }).proxyHops;
    expect(hops()).toBe(0);
    expect(hops('false')).toBe(0);
    expect(hops('0')).toBe(0);
    expect(hops('true')).toBe(1);
    expect(hops('1')).toBe(1);
    expect(hops('2')).toBe(2);
    for (const wrong of ['-1', '1.5', 'all', '10', 'two'])
      expect(() => hops(wrong), wrong).toThrow(/TRUST_PROXY: the number of proxies/);
  });

  it('ends console sessions after at most 15 idle minutes, sooner if configured', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).consoleIdleTimeout).toBe(900);
    expect(loadConfig({ DATA_DIR: dataDir(), CONSOLE_IDLE_TIMEOUT: '300' }).consoleIdleTimeout).toBe(300);
    expect(() => loadConfig({ DATA_DIR: dataDir(), CONSOLE_IDLE_TIMEOUT: '1800' })).toThrow(
      /CONSOLE_IDLE_TIMEOUT: at most 900/,
    );
  });

  it('serves the helper installers from HELPER_DIR, refusing a file where the folder should be', () => {
    const dir = dataDir();
    expect(loadConfig({ DATA_DIR: dir }).helperDir).toBe(path.resolve('dist/helper'));
    expect(loadConfig({ DATA_DIR: dir, HELPER_DIR: path.join(dir, 'not-yet') }).helperDir).toBe(
      path.join(dir, 'not-yet'),
    );
    writeFileSync(path.join(dir, 'a-file'), '');
    expect(() => loadConfig({ DATA_DIR: dir, HELPER_DIR: path.join(dir, 'a-file') })).toThrow(
      /HELPER_DIR: .* is not a directory/,
    );
  });

  it('derives the issuer from PORT', () => {
    expect(loadConfig({ DATA_DIR: dataDir(), PORT: '8080' }).issuer).toBe('http://localhost:8080');
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATA_DIR: dataDir(), DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATA_DIR: dataDir(), DATA_ENCRYPTION_KEY: 'short' })).toThrow(
      /DATA_ENCRYPTION_KEY/,
    );
    expect(() => loadConfig({ DATA_DIR: dataDir(), COOKIE_KEYS: 'too-short' })).toThrow(/COOKIE_KEYS/);
  });

  it('chooses the crypto profile: standard unless CRYPTO_PROFILE=gm, and names a wrong value', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).cryptoProfile).toBe('standard');
    expect(loadConfig({ DATA_DIR: dataDir(), CRYPTO_PROFILE: 'gm' }).cryptoProfile).toBe('gm');
    expect(() => loadConfig({ DATA_DIR: dataDir(), CRYPTO_PROFILE: 'sm' })).toThrow(/CRYPTO_PROFILE/);
  });

  it('has the pages call the 证书助手 at 127.0.0.1:<port>, the only Host it answers', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).certBridgeUrl).toBe('http://127.0.0.1:41443');
    expect(loadConfig({ DATA_DIR: dataDir(), CERT_BRIDGE_URL: 'http://127.0.0.1:5000/' }).certBridgeUrl).toBe(
      'http://127.0.0.1:5000',
    );
    for (const url of [
      'http://localhost:41443',
      'https://127.0.0.1:41443',
      'http://127.0.0.1',
      'http://[::1]:41443',
    ])
      expect(() => loadConfig({ DATA_DIR: dataDir(), CERT_BRIDGE_URL: url }), url).toThrow(/CERT_BRIDGE_URL/);
  });

  it('refuses in production what is only fit for development', () => {
    const production = { NODE_ENV: 'production', DATA_DIR: dataDir() };
    const error = (() => {
      try {
        loadConfig(production);
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/COOKIE_KEYS is required/);
    expect(error?.message).toMatch(/DATA_ENCRYPTION_KEY is required/);
    expect(error?.message).toMatch(/DATABASE_URL is required/);
    expect(error?.message).toMatch(/AUDIT_CHECKPOINT_DIR or AUDIT_CHECKPOINT_URL is required/);

    expect(error?.message).toMatch(/SMS_GATEWAY_URL is required/);
    expect(error?.message).toMatch(/IDENTITY_VERIFIER_URL is required/);
    expect(() => loadConfig({ ...production, ...secrets, SMS_GATEWAY: 'dev' })).toThrow(/SMS_GATEWAY=dev/);

    const outside = Object.fromEntries(
      ['SMS_GATEWAY', 'IDENTITY_VERIFIER', 'ENTERPRISE_VERIFIER'].flatMap((p) => [
        [`${p}_URL`, `https://${p.toLowerCase()}.example.gov.cn/api`],
        [`${p}_APP_ID`, 'unified-id'],
        [`${p}_SECRET`, 's'.repeat(32)],
      ]),
    );
    const almost = {
      ...production,
      ...secrets,
      ...outside,
      DATABASE_URL: 'postgres://db/uid',
      AUDIT_CHECKPOINT_DIR: '/var/lib/unified-id/checkpoints',
    };
    expect(() => loadConfig({ ...almost, ISSUER: 'http://id.example.gov.cn' })).toThrow(/https/);
    expect(() => loadConfig({ ...almost, ISSUER: 'https://id.example.gov.cn', DEMO_CLIENT: 'true' })).toThrow(
      /DEMO_CLIENT/,
    );
    const ok = loadConfig({ ...almost, ISSUER: 'https://id.example.gov.cn' });
    expect(ok.devMode).toBe(false);
    expect(ok.demoClient).toBe(false);
    expect(ok.allowPrivateNetworkCallbacks).toBe(false);

    // The audit log's outside witness: a directory, an HTTP endpoint, or both, but not neither.
    const { AUDIT_CHECKPOINT_DIR: _dir, ...unwitnessed } = { ...almost, ISSUER: 'https://id.example.gov.cn' };
    expect(() => loadConfig(unwitnessed)).toThrow(/AUDIT_CHECKPOINT_DIR or AUDIT_CHECKPOINT_URL is required/);
    const toUrl = loadConfig({ ...unwitnessed, AUDIT_CHECKPOINT_URL: 'https://witness.example.gov.cn/cp' });
    expect(toUrl.audit).toMatchObject({
      checkpointDir: undefined,
      checkpointUrl: 'https://witness.example.gov.cn/cp',
    });
    expect(ok.audit.checkpointDir).toBe('/var/lib/unified-id/checkpoints');
  });
});
