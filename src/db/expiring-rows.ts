import type { Db } from './database.js';
import { PERIODIC_STATEMENT, rowsOf } from './database.js';

/** Tables with an expiry column that the sweeper empties in batches. */
export const EXPIRING_TABLES = [
  { table: 'oidc_models', column: 'expires_at' },
  { table: 'rate_limits', column: 'window_ends_at' },
  { table: 'captchas', column: 'expires_at' },
  { table: 'sms_codes', column: 'expires_at' },
  { table: 'flow_states', column: 'expires_at' },
  { table: 'session_meta', column: 'expires_at' },
] as const;

export async function deleteExpiredBatch(
  db: Db,
  target: (typeof EXPIRING_TABLES)[number],
  batchSize: number,
): Promise<number> {
  // ctid batches keep each delete short, whatever the table's key.
  const result = await db.raw(
    `${PERIODIC_STATEMENT} delete from ${target.table} where ctid in (
       select ctid from ${target.table} where ${target.column} < now() limit ?
     ) returning 1`,
    [batchSize],
  );
  return rowsOf(result).length;
}
