import { describe, expect, it } from 'vitest';
import { ACR, acrSatisfies } from '../access/scopes.js';
import { levelSatisfies, requiredAcr } from './policy.js';

const oidcWith = (params: Record<string, unknown>, claims: Record<string, unknown> = {}) =>
  ({ params, claims }) as unknown as Parameters<typeof requiredAcr>[0];

describe('authentication strength ordering', () => {
  it('orders basic < mfa < cert, and a stronger session satisfies a weaker request', () => {
    expect(acrSatisfies(ACR.basic, ACR.basic)).toBe(true);
    expect(acrSatisfies(ACR.mfa, ACR.basic)).toBe(true);
    expect(acrSatisfies(ACR.cert, ACR.mfa)).toBe(true);
    expect(acrSatisfies(ACR.basic, ACR.mfa)).toBe(false);
    expect(acrSatisfies(ACR.mfa, ACR.cert)).toBe(false);
    expect(acrSatisfies(undefined, ACR.basic)).toBe(false);
    expect(acrSatisfies(ACR.cert, 'urn:other:acr')).toBe(false);
  });

  it('reads the weakest acceptable value of acr_values, and the stronger of two constraints', () => {
    expect(requiredAcr(oidcWith({}))).toBeUndefined();
    expect(requiredAcr(oidcWith({ acr_values: `${ACR.cert} ${ACR.mfa}` }))).toBe(ACR.mfa);
    expect(requiredAcr(oidcWith({ acr_values: 'urn:unknown' }))).toBeUndefined();
    const essential = { id_token: { acr: { essential: true, values: [ACR.cert] } } };
    expect(requiredAcr(oidcWith({ acr_values: ACR.basic }, essential))).toBe(ACR.cert);
    const voluntary = { id_token: { acr: { values: [ACR.cert] } } };
    expect(requiredAcr(oidcWith({}, voluntary))).toBeUndefined();
    expect(requiredAcr(oidcWith({}, { id_token: { acr: { essential: true, value: ACR.mfa } } }))).toBe(
      ACR.mfa,
    );
  });

  it('asks for mfa at least whenever the admin scope is requested', () => {
    expect(requiredAcr(oidcWith({ scope: 'openid admin' }))).toBe(ACR.mfa);
    expect(requiredAcr(oidcWith({ scope: 'openid admin', acr_values: ACR.basic }))).toBe(ACR.mfa);
    expect(requiredAcr(oidcWith({ scope: 'openid admin', acr_values: ACR.cert }))).toBe(ACR.cert);
    expect(requiredAcr(oidcWith({ scope: 'openid administration' }))).toBeUndefined();
  });

  it('orders certification levels L1 < L2 < L3', () => {
    expect(levelSatisfies('L2', 'L2')).toBe(true);
    expect(levelSatisfies('L3', 'L2')).toBe(true);
    expect(levelSatisfies('L1', 'L2')).toBe(false);
    expect(levelSatisfies(undefined, 'L1')).toBe(false);
  });
});
