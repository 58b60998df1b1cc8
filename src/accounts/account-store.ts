import type { Db } from '../db/database.js';

export type UserType = 'natural_person' | 'legal_person';
export type CertificationLevel = 'L1' | 'L2' | 'L3';

export interface AccountRow {
  id: string;
  user_type: UserType;
  phone: string | null;
  password_hash: string | null;
  certification_level: CertificationLevel;
  status: 'active' | 'locked' | 'closed';
  created_at: Date;
  updated_at: Date;
}

/** SQL for the accounts table. */
export class AccountStore {
  constructor(private readonly db: Db) {}

  async insert(
    row: Pick<AccountRow, 'id' | 'user_type' | 'phone' | 'password_hash' | 'certification_level'>,
    trx = this.db,
  ) {
    await trx('accounts').insert(row);
  }

  async findById(id: string): Promise<AccountRow | undefined> {
    return this.db('accounts').where({ id }).first();
  }

  async findByPhone(phone: string): Promise<AccountRow | undefined> {
    return this.db('accounts').where({ phone }).first();
  }

  async setPasswordHash(id: string, passwordHash: string) {
    await this.db('accounts')
      .where({ id })
      .update({ password_hash: passwordHash, updated_at: this.db.fn.now() });
  }

  async setStatus(id: string, status: AccountRow['status']): Promise<boolean> {
    return (await this.db('accounts').where({ id }).update({ status, updated_at: this.db.fn.now() })) > 0;
  }
}
