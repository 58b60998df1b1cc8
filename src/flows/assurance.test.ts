import { describe, expect, it } from 'vitest';
import { ACR } from '../access/scopes.js';
import { acrBelow, FactorTable } from './assurance.js';
import { SECOND_FACTOR } from './complete-login.js';
import { LOGIN_METHODS } from './methods/index.js';

// The table is built inside each test, never at collection: a table that throws must fail a test,
// not the file's collection (docs/mutation-testing.md).
const registered = () => new FactorTable([SECOND_FACTOR, ...LOGIN_METHODS.flatMap((m) => m.factors)]);

describe('acr and amr from what the server verified, by the factors the methods declare', () => {
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
    expect(registered().assuranceOf(verified)).toEqual({ acr, amr });
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

  it("accepts two methods declaring one factor alike (a citizen's and a legal person's password)", () => {
    const table = new FactorTable([
      { amr: 'pwd', kind: 'knowledge' },
      { amr: 'sms', kind: 'possession' },
      { amr: 'pwd', kind: 'knowledge' },
    ]);
    expect(table.assuranceOf(['pwd', 'sms'])).toEqual({ acr: ACR.mfa, amr: ['pwd', 'sms', 'mfa'] });
  });
});

describe('the factors read back from a session or a flow state', () => {
  it('keeps the declared factors in their order and drops any other value', () => {
    expect(registered().known(['otp', 'face', 'pwd', 'mfa'])).toEqual(['otp', 'pwd']);
  });

  it('finds no factor where nothing was stored (a session without amr, no step-up begun)', () => {
    expect(registered().known(undefined)).toEqual([]);
  });
});

describe('whether a session must step up', () => {
  it.each([
    [ACR.basic, ACR.mfa, true],
    [ACR.mfa, ACR.cert, true],
    [ACR.basic, ACR.cert, true],
    [ACR.mfa, ACR.mfa, false],
    [ACR.cert, ACR.mfa, false],
    [ACR.cert, ACR.cert, false],
    [ACR.basic, ACR.basic, false],
    // A session whose acr is missing or was tampered with counts as below every level.
    ['', ACR.basic, true],
    ['urn:unified-id:acr:max', ACR.mfa, true],
  ] as const)('%s below %s: %s', (have, want, below) => {
    expect(acrBelow(have, want)).toBe(below);
  });
});
