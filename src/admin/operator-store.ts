import type { Db } from '../db/database.js';
import { affected, rowsOf } from '../db/database.js';

export interface OperatorRow {
  account_id: string;
  added_at: Date;
  added_by: string;
  /** The account's phone (E.164), read with the row. */
  phone: string | null;
}

/** SQL for operators: the accounts whose own access tokens the admin API accepts. */
export class OperatorStore {
  constructor(private readonly db: Db) {}

  async isOperator(accountId: string): Promise<boolean> {
    return !!(await this.db('operators').where({ account_id: accountId }).first('account_id'));
  }

  /** False when the account already was one. */
  async add(accountId: string, addedBy: string): Promise<boolean> {
    const added = await this.db('operators')
      .insert({ account_id: accountId, added_by: addedBy })
      .onConflict('account_id')
      .ignore()
      .returning('account_id');
    return rowsOf(added).length === 1;
  }

  async remove(accountId: string): Promise<boolean> {
    return affected(await this.db('operators').where({ account_id: accountId }).delete()) > 0;
  }

  async list(): Promise<OperatorRow[]> {
    return this.db('operators')
      .join('accounts', 'accounts.id', 'operators.account_id')
      .select('operators.account_id', 'operators.added_at', 'operators.added_by', 'accounts.phone')
      .orderBy('operators.added_at');
  }
}
