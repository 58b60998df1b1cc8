import { describe, expect, it } from 'vitest';
import { assuranceOf } from './assurance.js';

describe('acr and amr from what the server verified', () => {
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
  ] as const)('%j → %s %j', (verified, acr, amr) => {
    expect(assuranceOf(verified)).toEqual({ acr, amr });
  });
});
