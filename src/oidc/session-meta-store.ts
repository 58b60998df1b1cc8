import type { Db } from '../db/database.js';
import { deferOrWrite, flushWriteBatch, type StoreTables } from '../db/write-batch.js';

export interface SessionMetaRow {
  session_uid: string;
  account_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
}

/** SQL for session_meta: where each SSO session was opened, and when it was last active here. */
export class SessionMetaStore {
  static readonly tables: StoreTables = { defers: ['session_meta'], reads: ['session_meta'] };

  constructor(private readonly db: Db) {}

  async opened(row: {
    session_uid: string;
    account_id: string;
    ip: string;
    user_agent: string;
    ttlSeconds: number;
  }) {
    const upsert = this.db('session_meta')
      .insert({
        session_uid: row.session_uid,
        account_id: row.account_id,
        ip: row.ip,
        user_agent: row.user_agent.slice(0, 300),
        expires_at: new Date(Date.now() + row.ttlSeconds * 1000),
      })
      .onConflict('session_uid')
      .merge({ last_seen_at: this.db.fn.now() });
    // At the end of a sign-in it goes with the request's other writes (write-batch.ts).
    await deferOrWrite(this.db, 'session_meta', upsert.toSQL(), `session_meta:${row.session_uid}`);
  }

  async find(sessionUid: string): Promise<SessionMetaRow | undefined> {
    await flushWriteBatch(this.db);
    return this.db('session_meta').where({ session_uid: sessionUid }).first();
  }

  async touch(sessionUid: string) {
    await flushWriteBatch(this.db);
    await this.db('session_meta')
      .where({ session_uid: sessionUid })
      .update({ last_seen_at: this.db.fn.now() });
  }

  async forAccount(accountId: string): Promise<SessionMetaRow[]> {
    await flushWriteBatch(this.db);
    return this.db('session_meta').where({ account_id: accountId });
  }
}
