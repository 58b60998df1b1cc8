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

  async countAttempt(id: number) {
    await this.db('sms_codes').where({ id }).increment('attempts', 1);
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
