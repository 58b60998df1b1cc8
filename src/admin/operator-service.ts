import type { Logger } from 'pino';
import { type OperatorRole, ROLE_LABELS } from '../access/operator-roles.js';
import type { AccountService } from '../accounts/account-service.js';
import { maskPhone } from '../accounts/phone.js';
import type { AuditService } from '../audit/audit-service.js';
import { AppError, Conflict } from '../errors.js';
import type { SmsGateway } from '../outside/sms/sms-gateway.js';
import { noticeMessage, SMS_NOTICES } from '../outside/sms/sms-notices.js';
import { type Requester, recordAdminAction } from './admin-actions.js';
import type { OperatorStore } from './operator-store.js';

/** 三员分立: nobody grants, changes or removes their own role. */
export class OwnRoleRefused extends AppError {
  override name = 'OwnRoleRefused';
  constructor() {
    super(403, 'own_role', '不能更改自己的操作员角色（三员分立），请由另一位安全管理员操作');
  }
}

/** The last 审计管理员 stays: without one, nobody would see what the other two roles do. */
export class LastAuditorKept extends AppError {
  override name = 'LastAuditorKept';
  constructor() {
    super(409, 'last_auditor', '不能移除最后一位审计管理员（三员分立），请先添加另一位审计管理员');
  }
}

/**
 * Who may administer Unified ID as a person, and in which one role. Membership is read on every
 * call, so removing an operator takes effect at once, tokens and console sessions included.
 * The roles hold each other in check: one role per account, never the last 审计管理员 removed, and
 * every grant or removal an audit row the 审计管理员s read (their 概览) and an SMS to their phones.
 */
export class OperatorService {
  constructor(
    private readonly store: OperatorStore,
    private readonly accounts: AccountService,
    private readonly audit: AuditService,
    private readonly sms: Pick<SmsGateway, 'send'>,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  roleOf(accountId: string): Promise<OperatorRole | undefined> {
    return this.store.roleOf(accountId);
  }

  async isOperator(accountId: string): Promise<boolean> {
    return (await this.store.roleOf(accountId)) !== undefined;
  }

  /** `login` is a phone number, a verified ID number or an account id; one role per person. */
  async add(login: string, role: OperatorRole, by: Requester) {
    const account = await this.accounts.show(login);
    if (by.actor === `operator:${account.id}`) throw new OwnRoleRefused();
    const held = await this.store.roleOf(account.id);
    if (held && held !== role)
      throw new Conflict(`该账号已是${ROLE_LABELS[held]}，一人只能担任一个角色（三员分立）`, 'one_role_only');
    const added = await this.store.add(account.id, role, by.actor);
    if (added) {
      await recordAdminAction(this.audit, by, 'admin.operator_added', { role }, account.id);
      await this.#tellAuditors([]);
    }
    return { account: account.id, phone: account.phoneMasked, operator: true, role, changed: added };
  }

  async remove(login: string, by: Requester) {
    const account = await this.accounts.show(login);
    if (by.actor === `operator:${account.id}`) throw new OwnRoleRefused();
    const role = await this.store.roleOf(account.id);
    const outcome = await this.store.removeKeepingAnAuditor(account.id);
    if (outcome === 'last_auditor') throw new LastAuditorKept();
    const removed = outcome === 'removed';
    if (removed) {
      await recordAdminAction(this.audit, by, 'admin.operator_removed', { role }, account.id);
      // A removed 审计管理员 hears of it too.
      const full = role === 'audit' ? await this.accounts.find(account.id) : undefined;
      await this.#tellAuditors(full?.phone ? [full.phone] : []);
    }
    return { account: account.id, phone: account.phoneMasked, operator: false, changed: removed };
  }

  /**
   * The SMS notice to every 审计管理员's phone. A gateway failure is logged and does not undo the
   * change: its audit row, already written, is what the 审计管理员s' 概览 shows.
   */
  async #tellAuditors(also: string[]) {
    const phones = new Set([...(await this.store.auditorPhones()), ...also]);
    for (const phone of phones) {
      try {
        await this.sms.send(noticeMessage(phone, SMS_NOTICES.operatorRoleChanged));
      } catch (err) {
        this.log.warn({ err }, 'the SMS notice of an operator role change was not sent');
      }
    }
  }

  /** The console's 操作员 page shows it; the sign-in itself is already in the audit log. */
  signedIn(accountId: string) {
    return this.store.signedIn(accountId);
  }

  async list() {
    return (await this.store.list()).map((r) => ({
      account: r.account_id,
      role: r.role,
      phone: r.phone ? maskPhone(r.phone) : null,
      addedAt: r.added_at,
      addedBy: r.added_by,
      lastSignedInAt: r.last_signed_in_at,
    }));
  }
}
