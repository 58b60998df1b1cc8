import type { AccountService } from '../accounts/account-service.js';
import { maskPhone } from '../accounts/phone.js';
import type { AuditService } from '../audit/audit-service.js';
import type { OperatorStore } from './operator-store.js';

/**
 * Who may call the admin API as a person. Membership is read on every call, so removing an
 * operator takes effect at once, tokens already issued included.
 */
export class OperatorService {
  constructor(
    private readonly store: OperatorStore,
    private readonly accounts: AccountService,
    private readonly audit: AuditService,
  ) {}

  isOperator(accountId: string): Promise<boolean> {
    return this.store.isOperator(accountId);
  }

  /** `login` is a phone number, a verified ID number or an account id. */
  async add(login: string, actor: string) {
    const account = await this.accounts.show(login);
    const added = await this.store.add(account.id, actor);
    if (added) await this.#record('admin.operator_added', actor, account.id);
    return { account: account.id, phone: account.phoneMasked, operator: true, changed: added };
  }

  async remove(login: string, actor: string) {
    const account = await this.accounts.show(login);
    const removed = await this.store.remove(account.id);
    if (removed) await this.#record('admin.operator_removed', actor, account.id);
    return { account: account.id, phone: account.phoneMasked, operator: false, changed: removed };
  }

  async list() {
    return (await this.store.list()).map((r) => ({
      account: r.account_id,
      phone: r.phone ? maskPhone(r.phone) : null,
      addedAt: r.added_at,
      addedBy: r.added_by,
    }));
  }

  #record(type: string, actor: string, accountId: string) {
    return this.audit.record({ type, outcome: 'success', actor, accountId });
  }
}
