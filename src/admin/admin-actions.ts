import type { OperatorRole } from '../access/operator-roles.js';
import type { AccountService } from '../accounts/account-service.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import { maskName } from '../accounts/mask.js';
import { maskPhone } from '../accounts/phone.js';
import type { RealNameService } from '../accounts/real-name-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { AdminAction, AuditEventType } from '../audit/audit-words.js';
import type { ClientInput, ClientService } from '../clients/client-service.js';
import { NotFound } from '../errors.js';
import { maskIdNumber } from '../identifiers/id-number.js';
import type { KeyService } from '../oidc/keys/key-service.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { ResourceServerInput, ResourceServerService } from '../resources/resource-server-service.js';
import type { AdminQueries, AuditSearch } from './admin-queries.js';
import { assertMayChange, assertMayRegister } from './client-rules.js';

/** An administrative change as its audit row: who asked, from where, and their reason. */
export function recordAdminAction(
  audit: Pick<AuditService, 'record'>,
  by: Requester,
  type: AuditEventType,
  detail: Record<string, unknown>,
  accountId?: string,
) {
  return audit.record({
    type,
    outcome: 'success',
    actor: by.actor,
    accountId,
    ip: by.ip,
    userAgent: by.userAgent,
    detail: by.reason === undefined ? detail : { ...detail, reason: by.reason },
  });
}

/** Who asks for an admin action and why: every one is an audit row with these. */
export interface Requester {
  /** `admin:<client id>`, `operator:<account id>`, or `cli`. */
  actor: string;
  /**
   * The one role (三员分立) the operator or machine client acts in; the command line on the
   * server (`cli`) has none and is bound by no role.
   */
  role?: OperatorRole | undefined;
  /** Required of every change (the API and the command line ask for it); a read may go without. */
  reason?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export interface AdminActionDeps {
  clients: ClientService;
  accounts: AccountService;
  keys: KeyService;
  resources: ResourceServerService;
  audit: AuditService;
  /** Ends an account's sessions and tokens (and tells the sites, where a provider runs). */
  revoker: Pick<SessionRevoker, 'revokeAll'>;
  /** The audit log's filtered reads, for the console's export. */
  queries?: Pick<AdminQueries, 'auditRows'>;
  /** 登录失败处理's counters, which an operator may clear for a person who proved who they are. */
  loginGuard?: Pick<LoginGuard, 'clear'>;
  /** 更正身份信息: a verified citizen's identity corrected, checked by the identity service. */
  realName?: Pick<RealNameService, 'correct'>;
  /** After a key rotation: the server reloads its keys at once rather than at the next refresh. */
  keysRotated?(): Promise<unknown>;
}

/**
 * The admin actions that change something, for the admin API and the command line alike: the
 * change, then its audit row (who, what, when, why).
 */
export class AdminActions {
  constructor(private readonly deps: AdminActionDeps) {}

  async createClient(input: ClientInput, by: Requester) {
    assertMayRegister(input, by);
    const created = await this.deps.clients.add(input);
    await this.#audit(by, 'client_created', {
      clientId: created.client_id,
      name: input.name,
      ...(input.adminRole ? { adminRole: input.adminRole } : {}),
    });
    return created;
  }

  async updateClient(clientId: string, input: ClientInput, by: Requester) {
    assertMayChange(await this.deps.clients.show(clientId), by, 'edit');
    assertMayRegister(input, by);
    const { changed } = await this.deps.clients.edit(clientId, input);
    await this.#audit(by, 'client_updated', { clientId, changed });
    return this.deps.clients.show(clientId);
  }

  async setClientDisabled(clientId: string, disabled: boolean, by: Requester) {
    assertMayChange(await this.deps.clients.show(clientId), by, 'other');
    await this.deps.clients.setDisabled(clientId, disabled);
    await this.#audit(by, disabled ? 'client_disabled' : 'client_enabled', { clientId });
    return this.deps.clients.show(clientId);
  }

  async rotateClientSecret(clientId: string, by: Requester) {
    assertMayChange(await this.deps.clients.show(clientId), by, 'other');
    const rotated = await this.deps.clients.rotateSecret(clientId);
    await this.#audit(by, 'client_secret_rotated', { clientId });
    return rotated;
  }

  async removeClient(clientId: string, by: Requester) {
    assertMayChange(await this.deps.clients.show(clientId), by, 'other');
    await this.deps.clients.remove(clientId);
    await this.#audit(by, 'client_removed', { clientId });
  }

  async addResourceServer(input: ResourceServerInput, by: Requester) {
    const added = await this.deps.resources.add(input);
    await this.#audit(by, 'resource_server_added', {
      identifier: added.identifier,
      clientId: added.client_id,
      scopes: added.scopes,
      format: added.format,
      ttl: added.ttl,
    });
    return added;
  }

  /** The API's new introspection credentials, shown once; the audit row names only the API. */
  async rotateResourceServerSecret(identifier: string, by: Requester) {
    const rotated = await this.deps.resources.rotateSecret(identifier);
    await this.#audit(by, 'resource_server_secret_rotated', { identifier, clientId: rotated.client_id });
    return rotated;
  }

  async removeResourceServer(identifier: string, by: Requester) {
    await this.deps.resources.remove(identifier);
    await this.#audit(by, 'resource_server_removed', { identifier });
  }

  async rotateKeys(by: Requester) {
    await this.deps.keys.ensureKeys();
    const keys = await this.deps.keys.rotate();
    await this.deps.keysRotated?.();
    await this.#audit(by, 'keys_rotated', {});
    return keys;
  }

  /** The whole chain as it stands, for an export; the export itself is audited first. */
  async exportAudit(by: Requester) {
    const snapshot = await this.deps.audit.snapshot();
    await this.#audit(by, 'audit_exported', { throughId: snapshot.lastId });
    return snapshot.rows;
  }

  /**
   * The rows a search matches, up to the newest row there is now; the export itself is audited
   * first, with the search and the last row it covers.
   */
  async exportAuditSearch(search: AuditSearch, by: Requester) {
    if (!this.deps.queries) throw new Error('exportAuditSearch needs the admin queries');
    const { lastId } = await this.deps.audit.snapshot();
    const filter = Object.fromEntries(
      Object.entries(search)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
    );
    await this.#audit(by, 'audit_exported', { throughId: lastId, filter });
    return this.deps.queries.auditRows({ ...search, throughId: lastId });
  }

  /** Locked, and signed out everywhere: a lock that left sessions running would not stop anyone. */
  async lockAccount(login: string, by: Requester) {
    const view = await this.deps.accounts.setStatus(login, 'locked');
    const sessions = await this.deps.revoker.revokeAll(view.id);
    await this.#audit(by, 'account_locked', { sessions }, view.id);
    return view;
  }

  async unlockAccount(login: string, by: Requester) {
    const view = await this.deps.accounts.setStatus(login, 'active');
    await this.#audit(by, 'account_unlocked', {}, view.id);
    return view;
  }

  async signOutAccount(login: string, by: Requester) {
    const view = await this.deps.accounts.show(login);
    const sessions = await this.deps.revoker.revokeAll(view.id);
    await this.#audit(by, 'account_signed_out', { sessions }, view.id);
    return { ...view, sessionsEnded: sessions };
  }

  /** The consecutive password failures, the 30-minute password lock and the captcha counters, cleared. */
  async clearLoginFailures(login: string, by: Requester) {
    const account = await this.deps.accounts.findByLogin(login);
    if (!account) throw new NotFound('no such account');
    await this.deps.accounts.clearPasswordFailures(account.id);
    // The counters are kept per spelling of the login: the phone and, when verified, the ID number.
    const identity = this.deps.accounts.identityOf(account);
    for (const spelling of [account.phone, identity?.idNumber]) {
      if (spelling) await this.deps.loginGuard?.clear(spelling);
    }
    await this.#audit(
      by,
      'login_failures_cleared',
      { failedLogins: account.failed_logins, phone: account.phone ? maskPhone(account.phone) : null },
      account.id,
    );
    return this.deps.accounts.show(account.id);
  }

  /** A clerical error in a verified identity corrected; the audit row keeps both, masked. */
  async correctIdentity(login: string, identity: { realName: string; idNumber: string }, by: Requester) {
    if (!this.deps.realName) throw new Error('correctIdentity needs the real-name service');
    const account = await this.deps.accounts.findByLogin(login);
    if (!account) throw new NotFound('no such account');
    const { before, after } = await this.deps.realName.correct(account.id, identity);
    await this.#audit(
      by,
      'identity_corrected',
      {
        before: before ? { name: maskName(before.realName), idNumber: maskIdNumber(before.idNumber) } : null,
        after: { name: maskName(after.realName), idNumber: maskIdNumber(after.idNumber) },
      },
      account.id,
    );
    return this.deps.accounts.show(account.id);
  }

  /** The whole name and ID number: only with a reason, which the audit row keeps. */
  async revealIdentity(login: string, by: Requester) {
    const account = await this.deps.accounts.findByLogin(login);
    if (!account) throw new NotFound('no such account');
    const identity = this.deps.accounts.identityOf(account);
    if (!identity) throw new NotFound('the account is not verified');
    await this.#audit(by, 'identity_revealed', { idNumber: maskIdNumber(identity.idNumber) }, account.id);
    return {
      id: account.id,
      realName: identity.realName,
      idNumber: identity.idNumber,
      idType: identity.idType,
    };
  }

  #audit(by: Requester, type: AdminAction, detail: Record<string, unknown>, accountId?: string) {
    return recordAdminAction(this.deps.audit, by, `admin.${type}`, detail, accountId);
  }
}
