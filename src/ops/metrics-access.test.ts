import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { bearerMatches, publicMetrics } from './metrics-access.js';

describe('who may read /metrics on the public listener', () => {
  const production = {
    NODE_ENV: 'production',
    ISSUER: 'https://id.example.gov.cn',
    DATABASE_URL: 'postgres://u@db/uid',
    COOKIE_KEYS: 'k'.repeat(32),
    DATA_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    SMS_GATEWAY_URL: 'https://sms.example',
    SMS_GATEWAY_APP_ID: 'a',
    SMS_GATEWAY_SECRET: 's'.repeat(16),
    IDENTITY_VERIFIER_URL: 'https://idv.example',
    IDENTITY_VERIFIER_APP_ID: 'a',
    IDENTITY_VERIFIER_SECRET: 's'.repeat(16),
    ENTERPRISE_VERIFIER_URL: 'https://ent.example',
    ENTERPRISE_VERIFIER_APP_ID: 'a',
    ENTERPRISE_VERIFIER_SECRET: 's'.repeat(16),
    AUDIT_CHECKPOINT_URL: 'https://witness.example/checkpoints',
  };

  it('in production nobody, unless a token is set; a private listener takes it off the public port', () => {
    const of = (env: Record<string, string>) => {
      const config = loadConfig({ ...production, ...env });
      return publicMetrics(config.metrics, config.env === 'production');
    };
    expect(of({})).toBe('none');
    expect(of({ METRICS_TOKEN: 't'.repeat(24) })).toBe('token');
    expect(of({ METRICS_PORT: '9464' })).toBe('none');
    expect(loadConfig({ ...production, METRICS_PORT: '9464' }).metrics.host).toBe('127.0.0.1');
    expect(() => loadConfig({ ...production, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('compares the bearer token whole', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('Bearer ab', 'abc')).toBe(false);
    expect(bearerMatches('Basic abc', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
  });
});
