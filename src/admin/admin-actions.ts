import type { AccountService } from '../accounts/account-service.js';
import { maskIdNumber } from '../accounts/id-number.js';
import type { AuditService } from '../audit/audit-service.js';
import type { ClientInput, ClientService } from '../clients/client-service.js';
import { NotFound } from '../errors.js';
import type { KeyService } from '../oidc/keys/key-service.js';
import type { SessionRevoker } from '../oidc/session-revoker.js';
import type { ResourceServerInput, ResourceServerService } from '../resources/resource-server-service.js';

/** Who asks for an admin action and why: every one is an audit row with these. */
export interface Requester {
  /** `admin:<client id>`, `operator:<account id>`, or `cli`. */
  actor: string;
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
    const created = await this.deps.clients.add(input);
    await this.#audit(by, 'client_created', { clientId: created.client_id, name: input.name });
    return created;
  }

  async setClientDisabled(clientId: string, disabled: boolean, by: Requester) {
    await this.deps.clients.setDisabled(clientId, disabled);
    await this.#audit(by, disabled ? 'client_disabled' : 'client_enabled', { clientId });
    return this.deps.clients.show(clientId);
  }

  async rotateClientSecret(clientId: string, by: Requester) {
    const rotated = await this.deps.clients.rotateSecret(clientId);
    await this.#audit(by, 'client_secret_rotated', { clientId });
    return rotated;
  }

  async removeClient(clientId: string, by: Requester) {
    await this.deps.clients.remove(clientId);
    await this.#audit(by, 'client_removed', { clientId });
  }

  async addResourceServer(input: ResourceServerInput, by: Requester) {
    const added = await this.deps.resources.add(input);
    await this.#audit(by, 'resource_server_added', {
      identifier: added.identifier,
      scopes: added.scopes,
      format: added.format,
      ttl: added.ttl,
    });
    return added;
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

  #audit(by: Requester, type: string, detail: Record<string, unknown>, accountId?: string) {
    return this.deps.audit.record({
      type: `admin.${type}`,
      outcome: 'success',
      actor: by.actor,
      accountId,
      ip: by.ip,
      userAgent: by.userAgent,
      detail: by.reason === undefined ? detail : { ...detail, reason: by.reason },
    });
  }
}
