import type { OperatorRole } from '../access/operator-roles.js';
import { affected, type Db } from '../db/database.js';

/** SQL for the clients table (relying parties). */
export interface ClientRow {
  client_id: string;
  name: string;
  client_secret: string | null;
  metadata: Record<string, unknown>;
  first_party: boolean;
  require_level: string | null;
  admin_role: OperatorRole | null;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}

function normalise(row: ClientRow): ClientRow {
  return { ...row, metadata: typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata };
}

export class ClientStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<ClientRow, 'created_at' | 'updated_at' | 'disabled'>) {
    await this.db('clients').insert({ ...row, metadata: JSON.stringify(row.metadata) });
  }

  async find(clientId: string): Promise<ClientRow | undefined> {
    const row = await this.db('clients').where({ client_id: clientId }).first();
    return row ? normalise(row) : undefined;
  }

  async findByName(name: string): Promise<ClientRow | undefined> {
    const row = await this.db('clients').where({ name }).orderBy('created_at').first();
    return row ? normalise(row) : undefined;
  }

  async list(): Promise<ClientRow[]> {
    return (await this.db('clients').orderBy('created_at')).map(normalise);
  }

  async update(
    clientId: string,
    changes: Partial<
      Pick<
        ClientRow,
        'client_secret' | 'disabled' | 'name' | 'metadata' | 'first_party' | 'require_level' | 'admin_role'
      >
    >,
  ) {
    const { metadata, ...rest } = changes;
    return this.db('clients')
      .where({ client_id: clientId })
      .update({
        ...rest,
        ...(metadata ? { metadata: JSON.stringify(metadata) } : {}),
        updated_at: this.db.fn.now(),
      });
  }

  async remove(clientId: string): Promise<boolean> {
    return affected(await this.db('clients').where({ client_id: clientId }).delete()) > 0;
  }
}
