import type { Db } from '../../db/database.js';

export type KeyState = 'next' | 'current' | 'retired';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  state: KeyState;
  private_jwk: string;
  created_at: Date;
  activated_at: Date | null;
  retired_at: Date | null;
  publish_until: Date | null;
}

/** SQL for signing_keys. */
export class KeyStore {
  constructor(private readonly db: Db) {}

  async published(trx: Db = this.db): Promise<SigningKeyRow[]> {
    return trx('signing_keys')
      .whereIn('state', ['current', 'next'])
      .orWhere((q) => q.where('state', 'retired').andWhere('publish_until', '>', this.db.fn.now()))
      .orderBy('created_at');
  }

  async all(): Promise<SigningKeyRow[]> {
    return this.db('signing_keys').orderBy('created_at');
  }

  /** Runs `work` alone among all processes: creating or rotating keys must not interleave. */
  async exclusively<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?)', [7_331_002]);
      return work(trx);
    });
  }

  async byState(trx: Db, alg: string, state: KeyState): Promise<SigningKeyRow[]> {
    return trx('signing_keys').where({ alg, state });
  }

  async insert(trx: Db, row: Pick<SigningKeyRow, 'kid' | 'alg' | 'state' | 'private_jwk'>) {
    await trx('signing_keys').insert({
      ...row,
      activated_at: row.state === 'current' ? trx.fn.now() : null,
    });
  }

  async promote(trx: Db, kid: string) {
    await trx('signing_keys').where({ kid }).update({ state: 'current', activated_at: trx.fn.now() });
  }

  async retire(trx: Db, kid: string, publishUntil: Date) {
    await trx('signing_keys')
      .where({ kid })
      .update({ state: 'retired', retired_at: trx.fn.now(), publish_until: publishUntil });
  }

  /** A fingerprint of the published set; processes reload their keystore when it changes. */
  async version(): Promise<string> {
    const rows = await this.published();
    return rows.map((r) => `${r.kid}:${r.state}`).join(',');
  }
}
