import type { OperatorRole } from '../access/operator-roles.js';
import type { Db } from '../db/database.js';
import { affected, rowsOf } from '../db/database.js';

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

  /**
   * Removes an operator unless it is the last 审计管理员, who would leave nobody to watch the other
   * two roles. The 审计管理员 rows are locked first, so two removals at once can not both pass.
   */
  async removeKeepingAnAuditor(accountId: string): Promise<'removed' | 'absent' | 'last_auditor'> {
    return this.db.transaction(async (trx) => {
      const auditors: string[] = (
        await trx('operators').where({ role: 'audit' }).forUpdate().select('account_id')
      ).map((r: { account_id: string }) => r.account_id);
      if (auditors.length === 1 && auditors[0] === accountId) return 'last_auditor';
      const removed = affected(await trx('operators').where({ account_id: accountId }).delete()) > 0;
      return removed ? 'removed' : 'absent';
    });
  }

  /** The phones (E.164) of every 审计管理员, for the notice of a role change. */
  async auditorPhones(): Promise<string[]> {
    const rows: { phone: string | null }[] = await this.db('operators')
      .join('accounts', 'accounts.id', 'operators.account_id')
      .where('operators.role', 'audit')
      .select('accounts.phone');
    return rows.flatMap((r) => (r.phone ? [r.phone] : []));
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
