import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditContent, chainHash, GENESIS } from './audit-chain.js';

const ROW: AuditContent = {
  occurred_at: new Date('2026-12-06T08:00:00.123Z'),
  account_id: 'acc_1',
  actor: 'acc_1',
  type: 'login',
  method: 'password',
  outcome: 'success',
  ip: '203.0.113.7',
  user_agent: 'Mozilla/5.0',
  detail: { client_id: 'rp_1', acr: 'urn:unified-id:acr:pwd', amr: ['pwd'] },
};

/**
 * The link of the audit chain: an edit of any column a row's hash covers, made by someone with
 * the database but not the chain, must change the hash `verify` recomputes.
 */
describe('chainHash', () => {
  // Computed inside each test: a hash that throws must fail a test, not the file's collection.
  const base = () => chainHash(GENESIS, ROW);

  it('is sha256 over the previous hash, a newline and the row, in hex', () => {
    const content = JSON.stringify([
      '2026-12-06T08:00:00.123Z',
      'acc_1',
      'acc_1',
      'login',
      'password',
      'success',
      '203.0.113.7',
      'Mozilla/5.0',
      { acr: 'urn:unified-id:acr:pwd', amr: ['pwd'], client_id: 'rp_1' },
    ]);
    expect(base()).toBe(createHash('sha256').update(`genesis\n${content}`).digest('hex'));
    expect(GENESIS).toBe('genesis');
  });

  it('changes with the previous hash: a row can not be moved to another place in the chain', () => {
    expect(chainHash('a'.repeat(64), ROW)).not.toBe(base());
  });

  const edits: [string, Partial<AuditContent>][] = [
    ['occurred_at', { occurred_at: new Date('2026-12-06T08:00:00.124Z') }],
    ['account_id', { account_id: 'acc_2' }],
    ['account_id removed', { account_id: null }],
    ['actor', { actor: 'op_1' }],
    ['type', { type: 'logout' }],
    ['method', { method: 'sms' }],
    ['outcome', { outcome: 'failure' }],
    ['ip', { ip: '203.0.113.8' }],
    ['user_agent', { user_agent: 'curl/8' }],
    ['a detail', { detail: { ...ROW.detail, client_id: 'rp_2' } }],
    ['a nested detail', { detail: { ...ROW.detail, amr: ['pwd', 'sms'] } }],
    ['a detail added', { detail: { ...ROW.detail, reason: 'x' } }],
  ];
  it.each(edits)('changes when %s is edited', (_, edit) => {
    expect(chainHash(GENESIS, { ...ROW, ...edit })).not.toBe(base());
  });

  it('reads the time as an instant: the database may hand it back as a string', () => {
    const asString = { ...ROW, occurred_at: '2026-12-06T16:00:00.123+08:00' as unknown as Date };
    expect(chainHash(GENESIS, asString)).toBe(base());
  });

  it('does not depend on the order jsonb gives the keys of detail, at any depth', () => {
    const detail = { outer: { b: 2, a: [{ y: 1, x: 2 }] }, first: 1 };
    const reordered = { first: 1, outer: { a: [{ x: 2, y: 1 }], b: 2 } };
    expect(chainHash(GENESIS, { ...ROW, detail: reordered })).toBe(chainHash(GENESIS, { ...ROW, detail }));
    // …while the order of an array is part of what was recorded.
    expect(chainHash(GENESIS, { ...ROW, detail: { amr: ['sms', 'pwd'] } })).not.toBe(
      chainHash(GENESIS, { ...ROW, detail: { amr: ['pwd', 'sms'] } }),
    );
  });
});
