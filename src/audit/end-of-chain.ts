import type { AuditVerdict, OutsideWitness } from './audit-service.js';

/**
 * Says in words whether the end of the chain was held against an outside checkpoint. The chain
 * alone can not show its newest rows deleted with `audit_head` set back to the last row kept;
 * only a checkpoint the database's users could not rewrite can, so an operator must be told
 * plainly when none was looked at.
 */
export function endOfChainWords(verdict: AuditVerdict, witness: OutsideWitness): string {
  if (!verdict.ok && verdict.cutOff) {
    const c = verdict.cutOff;
    return `CUT OFF: the newest outside checkpoint ${c.file} (chain position ${c.seq}, signed ${c.signedAt}) is past the database's end at chain position ${c.headSeq}: rows were deleted from the end of the audit log`;
  }
  if (!verdict.ok)
    return `not held against an outside checkpoint: the chain itself is broken (${verdict.reason})`;
  if (verdict.outsideEnd) {
    const o = verdict.outsideEnd;
    return `held against an outside checkpoint: ${o.file} (chain position ${o.seq}, signed ${o.signedAt}), the newest in ${witness.kind === 'dir' ? witness.dir : 'the checkpoints given'}, and the chain reaches it unchanged${o.rowsAfter > 0 ? `; the ${o.rowsAfter} row(s) sealed after it wait for the next checkpoint` : ''}`;
  }
  switch (witness.kind) {
    case 'dir':
      return `NOT held against an outside checkpoint: ${witness.dir} holds none yet (the sealer writes one a minute after the chain grows; \`unified-id audit checkpoint\` writes one now)`;
    case 'url':
      return 'NOT held against an outside checkpoint: checkpoints go to AUDIT_CHECKPOINT_URL only, which this command can not read; pass the copies kept there with --checkpoints DIR';
    case 'none':
      return 'NOT held against an outside checkpoint: no AUDIT_CHECKPOINT_DIR and no --checkpoints DIR, so rows deleted from the end together with audit_head would not show';
  }
}
