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

/** The hash a link is made with: SHA-256, or SM3 (GB/T 32905) under CRYPTO_PROFILE=gm. */
export type LinkAlgorithm = 'sha256' | 'sm3';

const SM3_LINK_PREFIX = 'sm3:';

/**
 * hash(previous hash, "\n", content), hex: the link the sealer writes and `verify` recomputes,
 * both from the row as the database returns it, so they can not disagree about formatting. An
 * SM3 link is written `sm3:<hex>`: each row names its algorithm, so a chain whose profile changed
 * part way verifies row by row, and the previous hash covered includes its name.
 */
export function chainHash(prevHash: string, row: AuditContent, algorithm: LinkAlgorithm = 'sha256'): string {
  const digest = createHash(algorithm).update(prevHash).update('\n').update(contentOf(row)).digest('hex');
  return algorithm === 'sm3' ? `${SM3_LINK_PREFIX}${digest}` : digest;
}

export function linkAlgorithmOf(hash: string): LinkAlgorithm {
  return hash.startsWith(SM3_LINK_PREFIX) ? 'sm3' : 'sha256';
}

/** Whether a sealed row's hash is its link from `prevHash`, under the algorithm the hash names. */
export function linkHolds(prevHash: string, row: AuditContent & { hash: string }): boolean {
  return chainHash(prevHash, row, linkAlgorithmOf(row.hash)) === row.hash;
}

/** The hash the chain starts from when nothing was ever archived. */
export const GENESIS = 'genesis';
