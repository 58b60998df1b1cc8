import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for two-step verification: the sealed TOTP secret on accounts, and recovery_codes. */
export class TotpStore {
  constructor(private readonly db: Db) {}

  async enable(accountId: string, sealedSecret: string, recoveryHashes: string[]) {
    await this.db.transaction(async (trx) => {
      await trx('accounts')
        .where({ id: accountId })
        .update({ totp_secret: sealedSecret, totp_enabled_at: trx.fn.now() });
      await trx('recovery_codes').where({ account_id: accountId }).delete();
      await trx('recovery_codes').insert(
        recoveryHashes.map((code_hash) => ({ account_id: accountId, code_hash })),
      );
    });
  }

  async disable(accountId: string) {
    await this.db.transaction(async (trx) => {
      await trx('accounts').where({ id: accountId }).update({ totp_secret: null, totp_enabled_at: null });
      await trx('recovery_codes').where({ account_id: accountId }).delete();
    });
  }

  /** True for exactly one use of an unused recovery code. */
  async useRecoveryCode(accountId: string, codeHash: string): Promise<boolean> {
    const rows = rowsOf(
      await this.db('recovery_codes')
        .where({ account_id: accountId, code_hash: codeHash })
        .whereNull('used_at')
        .update({ used_at: this.db.fn.now() })
        .returning('code_hash'),
    );
    return rows.length === 1;
  }

  async unusedRecoveryCodes(accountId: string): Promise<number> {
    const [row] = await this.db('recovery_codes')
      .where({ account_id: accountId })
      .whereNull('used_at')
      .count({ n: '*' });
    return Number(row?.n ?? 0);
  }
}
