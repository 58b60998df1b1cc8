import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

export interface SmsCodeRow {
  id: number;
  phone: string;
  purpose: string;
  code_hash: string;
  attempts: number;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** SQL for sms_codes. */
export class SmsCodeStore {
  constructor(private readonly db: Db) {}

  async latest(phone: string, purpose: string): Promise<SmsCodeRow | undefined> {
    return this.db('sms_codes').where({ phone, purpose }).orderBy('created_at', 'desc').first();
  }

  async insert(row: Pick<SmsCodeRow, 'phone' | 'purpose' | 'code_hash' | 'expires_at'> & { ip: string }) {
    const [created] = rowsOf<{ id: number }>(await this.db('sms_codes').insert(row).returning('id'));
    return Number(created!.id);
  }

  async remove(id: number) {
    await this.db('sms_codes').where({ id }).delete();
  }

  /**
   * Counts one entry against the newest live code of this phone and purpose and returns it, in
   * one statement: of any number of concurrent entries, only the first `maxEntries` see the code,
   * so parallel guesses can not outrun the cap (a read-compare-increment could).
   */
  async claimAttempt(
    phone: string,
    purpose: string,
    maxEntries: number,
  ): Promise<Pick<SmsCodeRow, 'id' | 'code_hash'> | undefined> {
    const result = await this.db.raw(
      `update sms_codes set attempts = attempts + 1
        where id = (select id from sms_codes where phone = ? and purpose = ?
                     order by created_at desc, id desc limit 1)
          and consumed_at is null and expires_at > now() and attempts < ?
        returning id, code_hash`,
      [phone, purpose, maxEntries],
    );
    return rowsOf<Pick<SmsCodeRow, 'id' | 'code_hash'>>(result)[0];
  }

  /**
   * Gives back the entry a right code was counted with, when the code is kept for a later
   * submit (SmsCodeService.check): only after the code was compared right, so no wrong entry is
   * ever given back and parallel guesses still meet the cap first.
   */
  async returnAttempt(id: number): Promise<void> {
    await this.db('sms_codes').where({ id }).where('attempts', '>', 0).decrement('attempts', 1);
  }

  /** True for exactly one caller: a code is used once. */
  async consume(id: number): Promise<boolean> {
    const rows = rowsOf(
      await this.db('sms_codes')
        .where({ id })
        .whereNull('consumed_at')
        .update({ consumed_at: this.db.fn.now() })
        .returning('id'),
    );
    return rows.length === 1;
  }
}
