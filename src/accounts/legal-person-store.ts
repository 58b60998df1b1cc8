import type { Db } from '../db/database.js';
import type { AccountStore } from './account-store.js';

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

export interface LegalPersonWithRepresentative extends LegalPersonRow {
  /** Sealed under the representative's account id (see AccountService.identityOf). */
  representative_real_name: string | null;
  representative_id_number: string | null;
  representative_id_type: string | null;
  representative_status: 'active' | 'locked' | 'closed' | null;
}

/** SQL for legal_persons. */
export class LegalPersonStore {
  constructor(
    private readonly db: Db,
    private readonly accounts: AccountStore,
  ) {}

  async find(accountId: string): Promise<LegalPersonRow | undefined> {
    return this.db('legal_persons').where({ account_id: accountId }).first();
  }

  /** The row with its representative's sealed identity columns, in one query (enterprise claims). */
  async findWithRepresentative(accountId: string): Promise<LegalPersonWithRepresentative | undefined> {
    const row = await this.db('legal_persons')
      .select(
        'legal_persons.*',
        'r.real_name as representative_real_name',
        'r.id_number as representative_id_number',
        'r.id_type as representative_id_type',
        'r.status as representative_status',
      )
      .leftJoin('accounts as r', 'r.id', 'legal_persons.representative_account_id')
      .where('legal_persons.account_id', accountId)
      .first();
    return row;
  }

  /** The enterprises whose legal representative this citizen account is, oldest first. */
  async listByRepresentative(accountId: string): Promise<LegalPersonRow[]> {
    return this.db('legal_persons').where({ representative_account_id: accountId }).orderBy('created_at');
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
      await this.accounts.insert(
        {
          id: account.id,
          user_type: 'legal_person',
          phone: null,
          password_hash: account.password_hash,
          certification_level: 'L2',
        },
        trx,
      );
      await trx('legal_persons').insert({ ...row, account_id: account.id, verified_at: trx.fn.now() });
    });
  }
}
