import { describe, expect, it } from 'vitest';
import type { AuditVerdict } from './audit-service.js';
import { endOfChainWords } from './end-of-chain.js';

// What `audit verify` tells an operator about the chain's end: rows deleted from the end together
// with audit_head show only against a checkpoint kept outside the database, so the words must
// never sound reassuring when none was looked at.
const end = { file: 'cp-000042.jws', seq: 42, id: 420, signedAt: '2026-12-06T10:00:00Z' };
const intact = (extra: Partial<Extract<AuditVerdict, { ok: true }>> = {}): AuditVerdict => ({
  ok: true,
  rows: 50,
  pending: 0,
  ...extra,
});
const dir = { kind: 'dir', dir: '/var/lib/unified-id/checkpoints', files: 3 } as const;

describe('the end of the audit chain in words', () => {
  it('says CUT OFF, with the checkpoint and both positions, when the newest checkpoint is past the end', () => {
    const verdict: AuditVerdict = {
      ok: false,
      rows: 40,
      pending: 0,
      brokenAt: 40,
      reason: 'cut off',
      cutOff: { ...end, headSeq: 40 },
    };
    const words = endOfChainWords(verdict, dir);
    expect(words).toMatch(/^CUT OFF: /);
    expect(words).toContain('cp-000042.jws (chain position 42, signed 2026-12-06T10:00:00Z)');
    expect(words).toContain("past the database's end at chain position 40");
  });

  it('says a broken chain was not held against a checkpoint, and why it is broken', () => {
    const verdict: AuditVerdict = {
      ok: false,
      rows: 9,
      pending: 0,
      brokenAt: 9,
      reason: 'row 9 hash differs',
    };
    expect(endOfChainWords(verdict, dir)).toBe(
      'not held against an outside checkpoint: the chain itself is broken (row 9 hash differs)',
    );
  });

  it('names the checkpoint the chain reaches, where it was found, and the rows sealed after it', () => {
    const reached = endOfChainWords(intact({ outsideEnd: { ...end, rowsAfter: 0 } }), dir);
    expect(reached).toBe(
      'held against an outside checkpoint: cp-000042.jws (chain position 42, signed 2026-12-06T10:00:00Z), the newest in /var/lib/unified-id/checkpoints, and the chain reaches it unchanged',
    );
    const given = endOfChainWords(intact({ outsideEnd: { ...end, rowsAfter: 3 } }), { kind: 'url' });
    expect(given).toContain('the newest in the checkpoints given');
    expect(given).toMatch(/; the 3 row\(s\) sealed after it wait for the next checkpoint$/);
  });

  it('says NOT held, and what to do, whenever no checkpoint was looked at', () => {
    const none = endOfChainWords(intact(), { kind: 'none' });
    expect(none).toMatch(
      /^NOT held against an outside checkpoint: no AUDIT_CHECKPOINT_DIR and no --checkpoints DIR/,
    );
    const url = endOfChainWords(intact(), { kind: 'url' });
    expect(url).toMatch(
      /^NOT held against an outside checkpoint: checkpoints go to AUDIT_CHECKPOINT_URL only/,
    );
    expect(url).toContain('--checkpoints DIR');
    const empty = endOfChainWords(intact(), { ...dir, files: 0 });
    expect(empty).toMatch(
      /^NOT held against an outside checkpoint: \/var\/lib\/unified-id\/checkpoints holds none yet/,
    );
    expect(empty).toContain('`unified-id audit checkpoint` writes one now');
  });
});
