import { describe, expect, it } from 'vitest';
import { CertificateRefused } from './certificate-refused.js';
import { HardwareKeyPolicy } from './hardware-key-policy.js';

// Which factor a certificate proves, from its own policy OIDs: a hardware key is amr hwk.
const HARDWARE = '1.2.156.112559.1.1.1';
const OTHER = '2.23.140.1.2.2';

function refusal(run: () => unknown): CertificateRefused | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    if (err instanceof CertificateRefused) return err;
    throw err;
  }
}

describe('hardware key policy', () => {
  it('calls a certificate marked with a hardware policy hwk, among other policies too', () => {
    const policy = new HardwareKeyPolicy([HARDWARE], false);
    expect(policy.factorOf({ policies: [HARDWARE] })).toBe('hwk');
    expect(policy.factorOf({ policies: [OTHER, HARDWARE] })).toBe('hwk');
  });

  it('refuses an unmarked certificate while software keys are off', () => {
    const policy = new HardwareKeyPolicy([HARDWARE], false);
    for (const policies of [[], [OTHER]]) {
      const refused = refusal(() => policy.factorOf({ policies }));
      expect(refused?.status).toBe(400);
      expect(refused?.code).toBe('certificate_not_hardware');
      expect(refused?.message).toContain('USB Key');
    }
  });

  it('calls an unmarked certificate swk while software keys are allowed, never hwk', () => {
    const policy = new HardwareKeyPolicy([HARDWARE], true);
    expect(policy.factorOf({ policies: [] })).toBe('swk');
    expect(policy.factorOf({ policies: [OTHER] })).toBe('swk');
    expect(policy.factorOf({ policies: [HARDWARE] })).toBe('hwk');
  });

  it('marks nothing hardware when no hardware policy is configured', () => {
    expect(new HardwareKeyPolicy([], true).factorOf({ policies: [HARDWARE] })).toBe('swk');
    expect(refusal(() => new HardwareKeyPolicy([], false).factorOf({ policies: [HARDWARE] }))).toBeDefined();
  });
});
