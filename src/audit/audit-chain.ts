import { createHash } from 'node:crypto';
import type { AuditRow } from './audit-store.js';

/** What a row's hash covers besides its predecessor's hash: everything but its place in the chain. */
export type AuditContent = Omit<AuditRow, 'id' | 'seq' | 'hash' | 'prev_hash'>;

/** JSON with sorted keys: jsonb does not keep the order the row was written in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function contentOf(row: AuditContent): string {
  return JSON.stringify([
    new Date(row.occurred_at).toISOString(),
    row.account_id,
    row.actor,
    row.type,
    row.method,
    row.outcome,
    row.ip,
    row.user_agent,
    canonical(row.detail),
  ]);
}

/**
 * sha256(previous hash, "\n", content), hex: the link the sealer writes and `verify` recomputes,
 * both from the row as the database returns it, so they can not disagree about formatting.
 */
export function chainHash(prevHash: string, row: AuditContent): string {
  return createHash('sha256').update(prevHash).update('\n').update(contentOf(row)).digest('hex');
}

/** The hash the chain starts from when nothing was ever archived. */
export const GENESIS = 'genesis';
