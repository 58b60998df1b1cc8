import { affected, type Db } from '../db/database.js';

export interface BoundCertificateRow {
  fingerprint: string;
  account_id: string;
  subject: string;
  issuer: string;
  serial_hex: string;
  key_algorithm: string;
  not_after: Date;
  created_at: Date;
}

/** SQL for bound_certificates, and the level it implies on accounts. */
export class CertificateStore {
  constructor(private readonly db: Db) {}

  async find(fingerprint: string): Promise<BoundCertificateRow | undefined> {
    return this.db('bound_certificates').where({ fingerprint }).first();
  }

  async forAccount(accountId: string): Promise<BoundCertificateRow[]> {
    return this.db('bound_certificates').where({ account_id: accountId }).orderBy('created_at');
  }

  /** Binds and raises the account to L3 in one transaction. */
  async bind(row: Omit<BoundCertificateRow, 'created_at'>) {
    await this.db.transaction(async (trx) => {
      await trx('bound_certificates').insert(row);
      await trx('accounts')
        .where({ id: row.account_id })
        .update({ certification_level: 'L3', updated_at: trx.fn.now() });
    });
  }

  /** Unbinds; with none left the account drops back to L2 (never silently: the next token says so). */
  async unbind(accountId: string, fingerprint: string): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const removed = affected(
        await trx('bound_certificates').where({ account_id: accountId, fingerprint }).delete(),
      );
      const [left] = await trx('bound_certificates').where({ account_id: accountId }).count({ n: '*' });
      if (Number(left?.n ?? 0) === 0) {
        await trx('accounts')
          .where({ id: accountId, certification_level: 'L3' })
          .update({ certification_level: 'L2', updated_at: trx.fn.now() });
      }
      return removed > 0;
    });
  }
}
