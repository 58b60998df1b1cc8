import { affected, type Db } from '../db/database.js';

/** SQL for the resource_servers table (the APIs tokens may be issued for). */
export interface ResourceServerRow {
  identifier: string;
  scopes: string;
  format: 'jwt' | 'opaque';
  access_token_ttl: number;
  created_at: Date;
}

export class ResourceServerStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<ResourceServerRow, 'created_at'>) {
    await this.db('resource_servers').insert(row);
  }

  async find(identifier: string): Promise<ResourceServerRow | undefined> {
    return this.db('resource_servers').where({ identifier }).first();
  }

  async list(): Promise<ResourceServerRow[]> {
    return this.db('resource_servers').orderBy('created_at');
  }

  async remove(identifier: string): Promise<boolean> {
    return affected(await this.db('resource_servers').where({ identifier }).delete()) > 0;
  }
}
