import { describe, expect, it } from 'vitest';
import { FactorTable } from './assurance.js';
import { SECOND_FACTOR } from './complete-login.js';
import { LOGIN_METHODS } from './methods/index.js';

describe('acr and amr from what the server verified, by the factors the methods declare', () => {
  const factors = new FactorTable([SECOND_FACTOR, ...LOGIN_METHODS.flatMap((m) => m.factors)]);

  it.each([
    [['pwd'], 'urn:unified-id:acr:basic', ['pwd']],
    [['sms'], 'urn:unified-id:acr:basic', ['sms']],
    [['alipay'], 'urn:unified-id:acr:basic', ['alipay']],
    [['pwd', 'sms'], 'urn:unified-id:acr:mfa', ['pwd', 'sms', 'mfa']],
    [['pwd', 'otp'], 'urn:unified-id:acr:mfa', ['pwd', 'otp', 'mfa']],
    [['sms', 'otp'], 'urn:unified-id:acr:mfa', ['sms', 'otp', 'mfa']],
    [['alipay', 'otp'], 'urn:unified-id:acr:mfa', ['alipay', 'otp', 'mfa']],
    // Alipay's own authentication is not known here: with a phone or password it stays basic.
    [['alipay', 'sms'], 'urn:unified-id:acr:basic', ['alipay', 'sms']],
    [['alipay', 'pwd'], 'urn:unified-id:acr:basic', ['alipay', 'pwd']],
    [['alipay', 'sms', 'pwd'], 'urn:unified-id:acr:mfa', ['alipay', 'sms', 'pwd', 'mfa']],
    [['hwk'], 'urn:unified-id:acr:cert', ['hwk']],
    [['swk'], 'urn:unified-id:acr:cert', ['swk']],
    [['pwd', 'pwd'], 'urn:unified-id:acr:basic', ['pwd']],
    // A value no registered method declares (a tampered or older row) counts for nothing.
    [['pwd', 'face'], 'urn:unified-id:acr:basic', ['pwd']],
    [['face', 'otp'], 'urn:unified-id:acr:basic', ['otp']],
  ] as const)('%j → %s %j', (verified, acr, amr) => {
    expect(factors.assuranceOf(verified)).toEqual({ acr, amr });
  });

  it('refuses two methods declaring one factor as different kinds', () => {
    expect(
      () =>
        new FactorTable([
          { amr: 'pwd', kind: 'knowledge' },
          { amr: 'pwd', kind: 'possession' },
        ]),
    ).toThrow(/pwd/);
  });
});
