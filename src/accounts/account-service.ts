import { randomUUID } from 'node:crypto';
import { BadInput, Conflict, LoginFailed, NotFound } from '../errors.js';
import type { AccountRow, AccountStore } from './account-store.js';
import { passwordHasher } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import { maskPhone, parseMainlandMobile } from './phone.js';

export interface AccountView {
  id: string;
  userType: AccountRow['user_type'];
  phoneMasked: string | null;
  certificationLevel: AccountRow['certification_level'];
  status: AccountRow['status'];
  createdAt: string;
}

/** People and legal persons: creation, password authentication, status. */
export class AccountService {
  constructor(private readonly store: AccountStore) {}

  async addCitizen(input: { phone: string; password: string }): Promise<AccountView> {
    const phone = parseMainlandMobile(input.phone);
    if (!phone.ok) throw new BadInput(phone.message);
    const rule = checkPassword(input.password, { phone: phone.national });
    if (!rule.ok) throw new BadInput(rule.message);
    if (await this.store.findByPhone(phone.e164))
      throw new Conflict('该手机号已注册，请直接登录或找回密码', 'phone_taken');
    const row = {
      id: randomUUID(),
      user_type: 'natural_person' as const,
      phone: phone.e164,
      password_hash: await passwordHasher.hash(input.password),
      certification_level: 'L1' as const,
    };
    try {
      await this.store.insert(row);
    } catch (err) {
      // Two registrations of one phone at once: the unique index decides.
      if ((err as { code?: string }).code === '23505')
        throw new Conflict('该手机号已注册，请直接登录或找回密码', 'phone_taken');
      throw err;
    }
    return this.show(row.id);
  }

  /**
   * The login identifier is a phone number (ID numbers come with real-name verification).
   * Every failure looks the same and costs the same time, whether or not the account exists.
   */
  async authenticatePassword(login: string, password: string): Promise<AccountRow> {
    const phone = parseMainlandMobile(login);
    const account = phone.ok ? await this.store.findByPhone(phone.e164) : undefined;
    const valid = await passwordHasher.verify(account?.password_hash, password);
    if (!account || !valid || account.status !== 'active') throw new LoginFailed();
    if (account.password_hash && passwordHasher.needsRehash(account.password_hash)) {
      await this.store.setPasswordHash(account.id, await passwordHasher.hash(password));
    }
    return account;
  }

  async find(id: string): Promise<AccountRow | undefined> {
    return this.store.findById(id);
  }

  async findByLogin(login: string): Promise<AccountRow | undefined> {
    const phone = parseMainlandMobile(login);
    if (phone.ok) return this.store.findByPhone(phone.e164);
    return this.store.findById(login);
  }

  async show(idOrLogin: string): Promise<AccountView> {
    const row = await this.findByLogin(idOrLogin);
    if (!row) throw new NotFound(`no such account: ${idOrLogin}`);
    return view(row);
  }

  async setStatus(idOrLogin: string, status: 'active' | 'locked'): Promise<AccountView> {
    const row = await this.findByLogin(idOrLogin);
    if (!row) throw new NotFound(`no such account: ${idOrLogin}`);
    await this.store.setStatus(row.id, status);
    return this.show(row.id);
  }
}

function view(row: AccountRow): AccountView {
  return {
    id: row.id,
    userType: row.user_type,
    phoneMasked: row.phone ? maskPhone(row.phone) : null,
    certificationLevel: row.certification_level,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
