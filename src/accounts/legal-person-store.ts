import type { Db } from '../db/database.js';

export interface LegalPersonRow {
  account_id: string;
  credit_code: string;
  org_name: string;
  legal_type: string;
  representative_account_id: string;
  contact_phone: string;
  verified_at: Date | null;
  created_at: Date;
}

/** SQL for legal_persons. */
export class LegalPersonStore {
  constructor(private readonly db: Db) {}

  async find(accountId: string): Promise<LegalPersonRow | undefined> {
    return this.db('legal_persons').where({ account_id: accountId }).first();
  }

  async findByCreditCode(creditCode: string): Promise<LegalPersonRow | undefined> {
    return this.db('legal_persons').where({ credit_code: creditCode }).first();
  }

  /** The account and its legal-person row in one transaction: a failure leaves neither. */
  async create(
    account: { id: string; password_hash: string },
    row: Omit<LegalPersonRow, 'account_id' | 'created_at' | 'verified_at'>,
  ) {
    await this.db.transaction(async (trx) => {
      await trx('accounts').insert({
        id: account.id,
        user_type: 'legal_person',
        phone: null,
        password_hash: account.password_hash,
        certification_level: 'L2',
      });
      await trx('legal_persons').insert({ ...row, account_id: account.id, verified_at: trx.fn.now() });
    });
  }
}
