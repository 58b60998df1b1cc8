import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for flow_states: small JSON state carried between the pages of one interaction. */
export class FlowStateStore {
  constructor(private readonly db: Db) {}

  async put(id: string, data: Record<string, unknown>, ttlSeconds: number) {
    await this.db('flow_states')
      .insert({ id, data: JSON.stringify(data), expires_at: new Date(Date.now() + ttlSeconds * 1000) })
      .onConflict('id')
      .merge(['data', 'expires_at']);
  }

  async get<T extends Record<string, unknown>>(id: string): Promise<T | undefined> {
    const row = await this.db('flow_states')
      .where({ id })
      .andWhere('expires_at', '>', this.db.fn.now())
      .first();
    if (!row) return undefined;
    return (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as T;
  }

  /** Reads and deletes in one statement: for single-use values such as certificate challenges. */
  async take<T extends Record<string, unknown>>(id: string): Promise<T | undefined> {
    const rows = rowsOf<{ data: unknown }>(
      await this.db('flow_states')
        .where({ id })
        .andWhere('expires_at', '>', this.db.fn.now())
        .delete()
        .returning('data'),
    );
    const data = rows[0]?.data;
    if (data === undefined) return undefined;
    return (typeof data === 'string' ? JSON.parse(data) : data) as T;
  }

  async remove(id: string) {
    await this.db('flow_states').where({ id }).delete();
  }
}
