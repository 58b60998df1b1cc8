import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';
import { flushWriteBatch, type StoreTables } from '../db/write-batch.js';

export type UserType = 'natural_person' | 'legal_person';
export type CertificationLevel = 'L1' | 'L2' | 'L3';

export interface AccountRow {
  id: string;
  user_type: UserType;
  phone: string | null;
  password_hash: string | null;
  certification_level: CertificationLevel;
  status: 'active' | 'locked' | 'closed';
  /** Sealed (DataProtector) real name and ID number; id_number_hash is their blind index. */
  real_name: string | null;
  id_number: string | null;
  id_number_hash: string | null;
  id_type: string | null;
  verified_at: Date | null;
  verification_method: string | null;
  failed_logins: number;
  password_locked_until: Date | null;
  /** Sealed TOTP secret; set while two-step verification is on. */
  totp_secret: string | null;
  totp_enabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const DATE_COLUMNS = [
  'verified_at',
  'password_locked_until',
  'totp_enabled_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof AccountRow)[];

/** An account row that arrived as JSON (to_jsonb(accounts) in a larger statement). */
export function accountRowOf(json: Record<string, unknown>): AccountRow {
  const row = { ...json } as Record<string, unknown>;
  for (const column of DATE_COLUMNS) {
    const value = row[column];
    if (typeof value === 'string') row[column] = new Date(value);
  }
  return row as unknown as AccountRow;
}

/** A verified identity as the accounts table keeps it: sealed values and their blind index. */
export type SealedIdentity = {
  [K in 'real_name' | 'id_number' | 'id_number_hash' | 'id_type' | 'verification_method']: string;
};

/** SQL for the accounts table. */
export class AccountStore {
  /** session_meta: only the delete of 注销账号, after the request's pending device records. */
  static readonly tables: StoreTables = {
    defers: [],
    reads: ['accounts', 'recovery_codes', 'consents', 'session_meta', 'alipay_links'],
  };

  constructor(private readonly db: Db) {}

  /** A new account; one created already verified (支付宝关联注册) carries its sealed identity. */
  async insert(
    row: Pick<AccountRow, 'id' | 'user_type' | 'phone' | 'password_hash' | 'certification_level'> &
      Partial<SealedIdentity>,
    trx: Db = this.db,
  ) {
    await trx('accounts').insert(row.real_name ? { ...row, verified_at: trx.fn.now() } : row);
  }

  async findById(id: string): Promise<AccountRow | undefined> {
    return this.db('accounts').where({ id }).first();
  }

  async findByPhone(phone: string): Promise<AccountRow | undefined> {
    return this.db('accounts').where({ phone }).first();
  }

  /** A legal person's account by its credit code (登录: 统一社会信用代码 + 密码). */
  async findByCreditCode(creditCode: string): Promise<AccountRow | undefined> {
    return this.db('accounts')
      .select('accounts.*')
      .join('legal_persons', 'legal_persons.account_id', 'accounts.id')
      .where('legal_persons.credit_code', creditCode)
      .first();
  }

  /** `hashes`: the index under each profile's algorithm, so rows not yet migrated are found too. */
  async findByIdNumberHash(hashes: readonly string[]): Promise<AccountRow | undefined> {
    return this.db('accounts').whereIn('id_number_hash', hashes).first();
  }

  async setPasswordHash(id: string, passwordHash: string) {
    await this.db('accounts').where({ id }).update({
      password_hash: passwordHash,
      failed_logins: 0,
      password_locked_until: null,
      updated_at: this.db.fn.now(),
    });
  }

  async setPhone(id: string, phone: string) {
    await this.db('accounts').where({ id }).update({ phone, updated_at: this.db.fn.now() });
  }

  /** 注销账号: personal data erased; the row stays so that audit rows keep pointing at something. */
  async close(id: string) {
    // A device record this request left pending lands before the delete, not after it.
    await flushWriteBatch(this.db);
    await this.db.transaction(async (trx) => {
      await trx('accounts').where({ id }).update({
        status: 'closed',
        phone: null,
        password_hash: null,
        real_name: null,
        id_number: null,
        id_number_hash: null,
        totp_secret: null,
        totp_enabled_at: null,
        updated_at: trx.fn.now(),
      });
      await trx('recovery_codes').where({ account_id: id }).delete();
      await trx('consents').where({ account_id: id }).delete();
      await trx('session_meta').where({ account_id: id }).delete();
      // The Alipay user goes too: it may then sign up afresh (支付宝关联注册).
      await trx('alipay_links').where({ account_id: id }).delete();
    });
  }

  async setStatus(id: string, status: AccountRow['status']): Promise<boolean> {
    return (await this.db('accounts').where({ id }).update({ status, updated_at: this.db.fn.now() })) > 0;
  }

  /** Records the verified identity once: a verified account is never overwritten. */
  async setIdentity(id: string, identity: SealedIdentity, trx: Db = this.db): Promise<boolean> {
    const changed = await trx('accounts')
      .where({ id })
      .whereNull('verified_at')
      .update({
        ...identity,
        verified_at: trx.fn.now(),
        certification_level: trx.raw(
          "case when certification_level = 'L1' then 'L2' else certification_level end",
        ),
        updated_at: trx.fn.now(),
      });
    return changed > 0;
  }

  /**
   * An operator's correction of a verified identity (a clerical error in the record): the one
   * path that overwrites it. The level stays; a correction is not a new verification.
   */
  async correctIdentity(id: string, identity: SealedIdentity): Promise<boolean> {
    const changed = await this.db('accounts')
      .where({ id })
      .whereNotNull('verified_at')
      .update({ ...identity, updated_at: this.db.fn.now() });
    return changed > 0;
  }

  /** One more consecutive failure; locks the password path when it reaches `lockAfter`. */
  async recordPasswordFailure(id: string, lockAfter: number, lockSeconds: number): Promise<number> {
    const [row] = rowsOf<{ failed_logins: number }>(
      await this.db.raw(
        `update accounts set failed_logins = failed_logins + 1,
           password_locked_until = case when failed_logins + 1 >= ? then now() + make_interval(secs => ?)
             else password_locked_until end
         where id = ? returning failed_logins`,
        [lockAfter, lockSeconds, id],
      ),
    );
    return Number(row?.failed_logins ?? 0);
  }

  async clearPasswordFailures(id: string) {
    await this.db('accounts').where({ id }).update({ failed_logins: 0, password_locked_until: null });
  }
}
