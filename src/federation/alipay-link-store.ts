import type { AccountStore, SealedIdentity } from '../accounts/account-store.js';
import { affected, type Db } from '../db/database.js';

export interface AlipayLinkRow {
  account_id: string;
  /** Keyed hash (blind index) of `<id_kind>:<id>`. */
  alipay_user_hash: string;
  /** The Alipay user id, sealed with the account id as context; opened only to show it masked. */
  alipay_user: string;
  id_kind: 'user_id' | 'open_id';
  created_at: Date;
}

/** SQL for alipay_links, and the account rows it creates or raises to L2 together with a link. */
export class AlipayLinkStore {
  constructor(
    private readonly db: Db,
    private readonly accounts: AccountStore,
  ) {}

  /** `hashes`: the index under each profile's algorithm, so links not yet migrated are found too. */
  async findByUserHash(hashes: readonly string[]): Promise<AlipayLinkRow | undefined> {
    return this.db('alipay_links').whereIn('alipay_user_hash', hashes).first();
  }

  async findByAccount(accountId: string): Promise<AlipayLinkRow | undefined> {
    return this.db('alipay_links').where({ account_id: accountId }).first();
  }

  async insert(row: Omit<AlipayLinkRow, 'created_at'>): Promise<void> {
    await this.db('alipay_links').insert(row);
  }

  async remove(accountId: string): Promise<boolean> {
    return affected(await this.db('alipay_links').where({ account_id: accountId }).delete()) > 0;
  }

  /**
   * 支付宝关联注册: a verified (L2) citizen account without a password, and its link, in one
   * transaction; a unique violation (phone, ID number, Alipay user) leaves neither.
   */
  async createLinkedAccount(
    account: { id: string; phone: string },
    identity: SealedIdentity,
    link: Omit<AlipayLinkRow, 'created_at' | 'account_id'>,
  ): Promise<void> {
    await this.db.transaction(async (trx) => {
      await this.accounts.insert(
        {
          id: account.id,
          user_type: 'natural_person',
          phone: account.phone,
          password_hash: null,
          certification_level: 'L2',
          ...identity,
        },
        trx,
      );
      await trx('alipay_links').insert({ ...link, account_id: account.id });
    });
  }

  /**
   * 支付宝认证: records the identity of a not yet verified account (raising L1 to L2) and/or the
   * link, in one transaction. False when the account was verified meanwhile (nothing written).
   */
  async certify(
    accountId: string,
    identity: SealedIdentity | undefined,
    link: Omit<AlipayLinkRow, 'created_at' | 'account_id'> | undefined,
  ): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      if (identity && !(await this.accounts.setIdentity(accountId, identity, trx))) return false;
      if (link) await trx('alipay_links').insert({ ...link, account_id: accountId });
      return true;
    });
  }
}
