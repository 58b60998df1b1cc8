import { randomUUID } from 'node:crypto';
import type { DataProtector } from '../crypto/sealed.js';
import { isUniqueViolation } from '../db/unique-violation.js';
import { BadInput, Conflict, LoginFailed, NotFound } from '../errors.js';
import { parseCreditCode } from '../identifiers/credit-code.js';
import { maskIdNumber, parseIdNumber } from '../identifiers/id-number.js';
import type { AccountRow, AccountStore, SealedIdentity } from './account-store.js';
import type { LegalPersonStore } from './legal-person-store.js';
import { maskName } from './mask.js';
import { type PasswordCost, PasswordHasher } from './password-hasher.js';
import { checkPassword, type PasswordCheck } from './password-policy.js';
import { maskPhone, parseMainlandMobile } from './phone.js';

/** 登录失败处理 (等保 2.0 §8.1.4.1 b): ten failures in a row lock the password path for 30 minutes. */
export const PASSWORD_LOCK = { after: 10, seconds: 30 * 60 } as const;

export const PHONE_TAKEN = '该手机号已注册，请直接登录或找回密码';

export interface AccountView {
  id: string;
  userType: AccountRow['user_type'];
  phoneMasked: string | null;
  nameMasked: string | null;
  idNumberMasked: string | null;
  certificationLevel: AccountRow['certification_level'];
  status: AccountRow['status'];
  createdAt: string;
}

/** The identity of a verified person, opened from its sealed columns. */
export interface Identity {
  realName: string;
  idNumber: string;
  idType: string;
}

/** People and legal persons: creation, password authentication, identity, status. */
export class AccountService {
  /** argon2id, with an HMAC-SM3 pepper first under CRYPTO_PROFILE=gm. */
  readonly passwords: PasswordHasher;

  constructor(
    private readonly store: AccountStore,
    private readonly protector: DataProtector,
    private readonly legalPersons: Pick<LegalPersonStore, 'find'>,
    passwordCost?: PasswordCost,
  ) {
    this.passwords = new PasswordHasher(
      protector.profile,
      protector.deriveProfileKey('unified-id/password-pepper', 'gm'),
      passwordCost,
    );
  }

  idNumberIndex(idNumber: string): string {
    return this.protector.blindIndex('id_number', idNumber);
  }

  /** The ID number's index under either profile: what a lookup matches during a change of profile. */
  idNumberIndexes(idNumber: string): string[] {
    return this.protector.blindIndexes('id_number', idNumber);
  }

  async addCitizen(input: { phone: string; password: string }): Promise<AccountView> {
    const phone = parseMainlandMobile(input.phone);
    if (!phone.ok) throw new BadInput(phone.message);
    const rule = checkPassword(input.password, { phone: phone.national });
    if (!rule.ok) throw new BadInput(rule.message);
    if (await this.store.findByPhone(phone.e164)) throw new Conflict(PHONE_TAKEN, 'phone_taken');
    const row = {
      id: randomUUID(),
      user_type: 'natural_person' as const,
      phone: phone.e164,
      password_hash: await this.passwords.hash(input.password),
      certification_level: 'L1' as const,
    };
    try {
      await this.store.insert(row);
    } catch (err) {
      // Two registrations of one phone at once: the unique index decides, and only one account exists.
      if (isUniqueViolation(err)) throw new Conflict(PHONE_TAKEN, 'phone_taken');
      throw err;
    }
    return this.show(row.id);
  }

  /**
   * The login is a phone number or, for a verified person, an ID number. Every failure looks
   * the same and costs the same time, whether or not the account exists or its password is locked.
   */
  async authenticatePassword(login: string, password: string, kind?: 'credit_code'): Promise<AccountRow> {
    return this.#checkPassword(await this.findByLogin(login, kind), password);
  }

  /** The password of an account its caller has loaded already; the lock counters and timing of a login. */
  async authenticateAccount(account: AccountRow, password: string): Promise<AccountRow> {
    return this.#checkPassword(account, password);
  }

  /** For a second factor or a confirmation: the password of a known account, same lock counters. */
  async checkPasswordOf(account: AccountRow, password: string): Promise<boolean> {
    try {
      await this.#checkPassword(account, password);
      return true;
    } catch (err) {
      if (err instanceof LoginFailed) return false;
      throw err;
    }
  }

  async #checkPassword(account: AccountRow | undefined, password: string): Promise<AccountRow> {
    const locked =
      account?.password_locked_until && new Date(account.password_locked_until).getTime() > Date.now();
    const valid = await this.passwords.verify(locked ? undefined : account?.password_hash, password);
    if (!account || !valid || account.status !== 'active') {
      if (account && !locked)
        await this.store.recordPasswordFailure(account.id, PASSWORD_LOCK.after, PASSWORD_LOCK.seconds);
      throw new LoginFailed(account?.id);
    }
    if (account.failed_logins > 0) await this.store.clearPasswordFailures(account.id);
    if (account.password_hash && this.passwords.needsRehash(account.password_hash)) {
      await this.store.setPasswordHash(account.id, await this.passwords.hash(password));
    }
    return account;
  }

  async setPassword(accountId: string, password: string): Promise<void> {
    const rule = await this.passwordRuleFor(accountId, password);
    if (!rule.ok) throw new BadInput(rule.message);
    await this.store.setPasswordHash(accountId, await this.passwords.hash(password));
  }

  /** The password rule for this account's new password: with its own phone and ID number. */
  async passwordRuleFor(accountId: string, password: string): Promise<PasswordCheck> {
    const account = await this.store.findById(accountId);
    if (!account) throw new NotFound();
    const identity = this.identityOf(account);
    return checkPassword(password, {
      ...(account.phone ? { phone: account.phone.replace(/^\+86/, '') } : {}),
      ...(identity ? { idNumber: identity.idNumber } : {}),
    });
  }

  async changePhone(accountId: string, e164: string): Promise<void> {
    try {
      await this.store.setPhone(accountId, e164);
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('该手机号已被其他账号使用', 'phone_taken');
      throw err;
    }
  }

  close(accountId: string): Promise<void> {
    return this.store.close(accountId);
  }

  /**
   * Where SMS codes for this account go: its phone, or a legal person's contact phone (its
   * representative's number, kept with the registration).
   */
  async smsPhoneOf(account: AccountRow): Promise<string | undefined> {
    return (
      account.phone ??
      (account.user_type === 'legal_person'
        ? (await this.legalPersons.find(account.id))?.contact_phone
        : undefined)
    );
  }

  async find(id: string): Promise<AccountRow | undefined> {
    return this.store.findById(id);
  }

  async findByPhone(e164: string): Promise<AccountRow | undefined> {
    return this.store.findByPhone(e164);
  }

  /** A phone number, an ID number (verified accounts only), or an account id. */
  async findByLogin(login: string, kind?: 'credit_code'): Promise<AccountRow | undefined> {
    if (kind === 'credit_code') {
      // The 法人 tab: an all-digit code must not be taken for an ID number.
      const code = parseCreditCode(login);
      return code.ok ? this.store.findByCreditCode(code.creditCode) : undefined;
    }
    const phone = parseMainlandMobile(login);
    if (phone.ok) return this.store.findByPhone(phone.e164);
    const id = parseIdNumber(login);
    if (id.ok) return this.store.findByIdNumberHash(this.idNumberIndexes(id.idNumber));
    const creditCode = parseCreditCode(login);
    if (creditCode.ok) return this.store.findByCreditCode(creditCode.creditCode);
    if (/^[0-9a-f-]{36}$/.test(login)) return this.store.findById(login);
    return undefined;
  }

  /** A verified name and ID number as the accounts table keeps them; identityOf opens them. */
  sealIdentity(
    accountId: string,
    identity: { realName: string; idNumber: string },
    method: string,
  ): SealedIdentity {
    return {
      real_name: this.protector.seal(identity.realName, `account:${accountId}:real_name`),
      id_number: this.protector.seal(identity.idNumber, `account:${accountId}:id_number`),
      id_number_hash: this.idNumberIndex(identity.idNumber),
      id_type: 'resident_id_card',
      verification_method: method,
    };
  }

  identityOf(account: Pick<AccountRow, 'id' | 'real_name' | 'id_number' | 'id_type'>): Identity | undefined {
    if (!account.real_name || !account.id_number) return undefined;
    return {
      realName: this.protector.open(account.real_name, `account:${account.id}:real_name`),
      idNumber: this.protector.open(account.id_number, `account:${account.id}:id_number`),
      idType: account.id_type ?? 'resident_id_card',
    };
  }

  async show(idOrLogin: string): Promise<AccountView> {
    const row = await this.findByLogin(idOrLogin);
    if (!row) throw new NotFound(`no such account: ${idOrLogin}`);
    return this.view(row);
  }

  /** An operator's 清除登录失败计数: the consecutive failures and the password lock they set. */
  async clearPasswordFailures(accountId: string): Promise<void> {
    await this.store.clearPasswordFailures(accountId);
  }

  async setStatus(idOrLogin: string, status: 'active' | 'locked'): Promise<AccountView> {
    const row = await this.findByLogin(idOrLogin);
    if (!row) throw new NotFound(`no such account: ${idOrLogin}`);
    await this.store.setStatus(row.id, status);
    return this.show(row.id);
  }

  view(row: AccountRow): AccountView {
    const identity = this.identityOf(row);
    return {
      id: row.id,
      userType: row.user_type,
      phoneMasked: row.phone ? maskPhone(row.phone) : null,
      nameMasked: identity ? maskName(identity.realName) : null,
      idNumberMasked: identity ? maskIdNumber(identity.idNumber) : null,
      certificationLevel: row.certification_level,
      status: row.status,
      createdAt: new Date(row.created_at).toISOString(),
    };
  }
}
