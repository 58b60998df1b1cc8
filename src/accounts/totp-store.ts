import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for two-step verification: the sealed TOTP secret and its counters on accounts, and recovery_codes. */
export class TotpStore {
  constructor(private readonly db: Db) {}

  /** `acceptedStep`: the time-step of the code that turned it on, spent like any code accepted. */
  async enable(accountId: string, sealedSecret: string, recoveryHashes: string[], acceptedStep: number) {
    await this.db.transaction(async (trx) => {
      await trx('accounts').where({ id: accountId }).update({
        totp_secret: sealedSecret,
        totp_enabled_at: trx.fn.now(),
        totp_last_step: acceptedStep,
        totp_attempts: 0,
        totp_attempts_until: null,
      });
      await this.replaceRecoveryCodes(trx, accountId, recoveryHashes);
    });
  }

  async disable(accountId: string) {
    await this.db.transaction(async (trx) => {
      await trx('accounts')
        .where({ id: accountId })
        .update({ totp_secret: null, totp_enabled_at: null, totp_last_step: null });
      await trx('recovery_codes').where({ account_id: accountId }).delete();
    });
  }

  /** New recovery codes; the old ones, used or not, stop working. */
  async regenerateRecoveryCodes(accountId: string, recoveryHashes: string[]) {
    await this.db.transaction((trx) => this.replaceRecoveryCodes(trx, accountId, recoveryHashes));
  }

  private async replaceRecoveryCodes(trx: Db, accountId: string, recoveryHashes: string[]) {
    await trx('recovery_codes').where({ account_id: accountId }).delete();
    await trx('recovery_codes').insert(
      recoveryHashes.map((code_hash) => ({ account_id: accountId, code_hash })),
    );
  }

  /**
   * Counts one attempt at a TOTP or recovery code, in one statement: true while the account has
   * had fewer than `max` in the current window (which starts at the first attempt), false once
   * the cap is reached. Parallel attempts each take their own count; none slips past the cap.
   */
  async countAttempt(accountId: string, max: number, windowSeconds: number): Promise<boolean> {
    const rows = rowsOf(
      await this.db.raw(
        `update accounts set
           totp_attempts = case when totp_attempts_until is null or totp_attempts_until <= now()
                                then 1 else totp_attempts + 1 end,
           totp_attempts_until = case when totp_attempts_until is null or totp_attempts_until <= now()
                                then now() + make_interval(secs => ?) else totp_attempts_until end
         where id = ? and (totp_attempts < ? or totp_attempts_until is null or totp_attempts_until <= now())
         returning id`,
        [windowSeconds, accountId, max],
      ),
    );
    return rows.length === 1;
  }

  /**
   * Accepts a code of time-step `step` once: true when no code of this or a later step was
   * accepted before (the attempts start again), false for a replay. One statement, so two
   * requests with the same code can not both pass.
   */
  async acceptStep(accountId: string, step: number): Promise<boolean> {
    const rows = rowsOf(
      await this.db('accounts')
        .where({ id: accountId })
        .andWhere((q) => q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
        .update({ totp_last_step: step, totp_attempts: 0, totp_attempts_until: null })
        .returning('id'),
    );
    return rows.length === 1;
  }

  /** A recovery code was accepted: the attempts start again. */
  async clearAttempts(accountId: string) {
    await this.db('accounts')
      .where({ id: accountId })
      .update({ totp_attempts: 0, totp_attempts_until: null });
  }

  /** True for exactly one use of an unused recovery code. */
  /** `codeHashes`: the code's index under each profile (codes are kept as made; they can not be migrated). */
  async useRecoveryCode(accountId: string, codeHashes: readonly string[]): Promise<boolean> {
    const rows = rowsOf(
      await this.db('recovery_codes')
        .where({ account_id: accountId })
        .whereIn('code_hash', codeHashes)
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
    // An aggregate without GROUP BY answers exactly one row, whatever matched.
    return Number(row!.n);
  }
}
