import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for `unified-id crypto status` and `migrate`: counts by algorithm, batches, compare-and-swap. */
export class CryptoStore {
  constructor(private readonly db: Db) {}

  /** Non-null values of `column` counted by the algorithm `algorithmSql` names. */
  async countByAlgorithm(
    table: string,
    column: string,
    algorithmSql: string,
  ): Promise<Record<string, number>> {
    const rows = rowsOf<{ algorithm: string; n: string | number }>(
      await this.db.raw(
        `select ${algorithmSql} as algorithm, count(*) as n from ${table} where ${column} is not null group by 1`,
      ),
    );
    return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
  }

  /**
   * The next rows after `after` (by key) whose `column` is set and does not carry `targetPrefix`
   * (for the untagged algorithm: does carry `otherPrefix`). Keyed pages, so a row that can not be
   * moved is passed over, not met again.
   */
  async batch(
    spec: { table: string; key: string; column: string; also: readonly string[] },
    match: { notPrefix: string } | { prefix: string },
    after: string | undefined,
    limit: number,
  ): Promise<Record<string, string>[]> {
    const q = this.db(spec.table)
      .select(spec.key, spec.column, ...spec.also)
      .whereNotNull(spec.column)
      .orderBy(spec.key)
      .limit(limit);
    if ('notPrefix' in match) q.whereNot(spec.column, 'like', `${match.notPrefix}%`);
    else q.where(spec.column, 'like', `${match.prefix}%`);
    if (after !== undefined) q.where(spec.key, '>', after);
    return (await q) as Record<string, string>[];
  }

  /** Writes `next` only if the row still holds `previous`: a request that changed it meanwhile wins. */
  async swap(
    spec: { table: string; key: string; column: string },
    key: string,
    previous: string,
    next: string,
  ): Promise<boolean> {
    const changed = await this.db(spec.table)
      .where(spec.key, key)
      .where(spec.column, previous)
      .update({ [spec.column]: next });
    return Number(changed) === 1;
  }
}
