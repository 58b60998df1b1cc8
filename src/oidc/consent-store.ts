import type { Db } from '../db/database.js';

export interface ConsentRow {
  account_id: string;
  client_id: string;
  scope: string;
  claims: string[];
  updated_at?: Date;
}

/** SQL for consents. */
export class ConsentStore {
  constructor(private readonly db: Db) {}

  async find(accountId: string, clientId: string): Promise<ConsentRow | undefined> {
    const row = await this.db('consents').where({ account_id: accountId, client_id: clientId }).first();
    if (!row) return undefined;
    return { ...row, claims: typeof row.claims === 'string' ? JSON.parse(row.claims) : row.claims };
  }

  async save(row: ConsentRow) {
    await this.db('consents')
      .insert({ ...row, claims: JSON.stringify(row.claims) })
      .onConflict(['account_id', 'client_id'])
      .merge({ scope: row.scope, claims: JSON.stringify(row.claims), updated_at: this.db.fn.now() });
  }

  async forAccount(accountId: string): Promise<ConsentRow[]> {
    const rows = await this.db('consents').where({ account_id: accountId }).orderBy('updated_at', 'desc');
    return rows.map((r: ConsentRow) => ({
      ...r,
      claims: typeof r.claims === 'string' ? JSON.parse(r.claims) : r.claims,
    }));
  }

  async remove(accountId: string, clientId: string) {
    await this.db('consents').where({ account_id: accountId, client_id: clientId }).delete();
  }
}
