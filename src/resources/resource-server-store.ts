import { affected, type Db } from '../db/database.js';

/** SQL for the resource_servers table (the APIs tokens may be issued for). */
export interface ResourceServerRow {
  identifier: string;
  scopes: string;
  format: 'jwt' | 'opaque';
  access_token_ttl: number;
  /** The API's own client id (`api_…`) for introspection; null until it is given one. */
  client_id: string | null;
  /** Sealed (src/crypto/sealed.ts), like a site's secret. */
  client_secret: string | null;
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

  async findByClientId(clientId: string): Promise<ResourceServerRow | undefined> {
    return this.db('resource_servers').where({ client_id: clientId }).first();
  }

  async setCredentials(identifier: string, clientId: string, sealedSecret: string): Promise<boolean> {
    const updated = await this.db('resource_servers')
      .where({ identifier })
      .update({ client_id: clientId, client_secret: sealedSecret });
    return affected(updated) > 0;
  }

  async list(): Promise<ResourceServerRow[]> {
    return this.db('resource_servers').orderBy('created_at');
  }

  async remove(identifier: string): Promise<boolean> {
    return affected(await this.db('resource_servers').where({ identifier }).delete()) > 0;
  }
}
