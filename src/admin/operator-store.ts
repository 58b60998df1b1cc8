import type { Db } from '../db/database.js';
import { affected, rowsOf } from '../db/database.js';
import type { OperatorRole } from './operator-roles.js';

export interface OperatorRow {
  account_id: string;
  role: OperatorRole;
  added_at: Date;
  added_by: string;
  last_signed_in_at: Date | null;
  /** The account's phone (E.164), read with the row. */
  phone: string | null;
}

/** SQL for operators: the accounts whose own sign-in the admin API and the console accept, each with one role. */
export class OperatorStore {
  constructor(private readonly db: Db) {}

  async roleOf(accountId: string): Promise<OperatorRole | undefined> {
    return (await this.db('operators').where({ account_id: accountId }).first('role'))?.role;
  }

  /** False when the account already is an operator (of whichever role): one role per person. */
  async add(accountId: string, role: OperatorRole, addedBy: string): Promise<boolean> {
    const added = await this.db('operators')
      .insert({ account_id: accountId, role, added_by: addedBy })
      .onConflict('account_id')
      .ignore()
      .returning('account_id');
    return rowsOf(added).length === 1;
  }

  async remove(accountId: string): Promise<boolean> {
    return affected(await this.db('operators').where({ account_id: accountId }).delete()) > 0;
  }

  async signedIn(accountId: string) {
    await this.db('operators')
      .where({ account_id: accountId })
      .update({ last_signed_in_at: this.db.fn.now() });
  }

  async list(): Promise<OperatorRow[]> {
    return this.db('operators')
      .join('accounts', 'accounts.id', 'operators.account_id')
      .select(
        'operators.account_id',
        'operators.role',
        'operators.added_at',
        'operators.added_by',
        'operators.last_signed_in_at',
        'accounts.phone',
      )
      .orderBy('operators.added_at');
  }
}
