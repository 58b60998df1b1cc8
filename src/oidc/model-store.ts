import { type AccountRow, accountRowOf } from '../accounts/account-store.js';
import type { Db } from '../db/database.js';
import { affected, hotQuery, onPostgres, rowsOf } from '../db/database.js';
import { InsertGroup } from '../db/insert-group.js';
import {
  afterPendingWrites,
  deferOrWrite,
  flushWriteBatch,
  type StoreTables,
  writeNow,
} from '../db/write-batch.js';
import { PrefetchCache } from './prefetch-cache.js';
import { askedRows, type Context, contextEntries, TOKENS } from './token-context.js';

/** SQL for the oidc_models table: the storage behind oidc-provider's adapter interface. */
export type ModelPayload = Record<string, unknown> & {
  grantId?: string;
  accountId?: string;
  uid?: string;
  userCode?: string;
  consumed?: unknown;
};

interface ByIdWaiter {
  model: string;
  resolve: (payload: ModelPayload | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Bearer access tokens: a site that finds one gone asks for another (client credentials) or
 * signs the person in again, so after a PostgreSQL crash losing the last fraction of a second of
 * them (asynchronous commit) costs one request. Waiting for each one's WAL flush put the disk's
 * slowest fsyncs into /token's p99. Codes, refresh tokens, sessions, grants, a token's
 * consumption and everything else stay synchronous: losing those would undo a sign-in or
 * allow a replay.
 */
const ASYNC_COMMIT = new Set(['AccessToken', 'ClientCredentials']);
const ON_CONFLICT = `on conflict (model, id) do update set
  payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
  uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`;

const UPSERT = `insert into oidc_models (model, id, payload, grant_id, account_id, uid, user_code, expires_at)
  select ?, ?, ?::jsonb, ?, ?, ?, ?, ?::timestamptz ${ON_CONFLICT}`;

/** One access token, committed as those below. */
const UPSERT_ACCESS_TOKEN = `insert into oidc_models (model, id, payload, grant_id, account_id, uid, user_code, expires_at)
  select ?, ?, ?::jsonb, ?, ?, ?, ?, ?::timestamptz
  from (select set_config('synchronous_commit', 'off', true)) as async_commit ${ON_CONFLICT}`;

/**
 * Access tokens, any number in one statement (a column per array): committed without waiting for
 * the WAL to reach the disk (see ASYNC_COMMIT); set_config(…, true) holds for this statement's
 * own transaction only.
 */
const UPSERT_ACCESS_TOKENS = `insert into oidc_models (model, id, payload, grant_id, account_id, uid, user_code, expires_at)
  select r.model, r.id, r.payload::jsonb, r.grant_id, r.account_id, r.uid, r.user_code, r.expires_at::timestamptz
  from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
    as r(model, id, payload, grant_id, account_id, uid, user_code, expires_at),
    (select set_config('synchronous_commit', 'off', true)) as async_commit
  ${ON_CONFLICT}`;

const NOTHING: ReadonlySet<Context> = new Set();
/** oidc_token_context (009): userinfo, code exchange and refresh go on to the account's claims. */
const GRANT_SESSION_ACCOUNT: ReadonlySet<Context> = new Set(['Grant', 'Session', 'Account']);
/** oidc_tokens_context (011): introspection and revocation never read the account. */
const GRANT_SESSION: ReadonlySet<Context> = new Set(['Grant', 'Session']);
/** A prefetched row is for the request that caused it, a few milliseconds later; never older. */
const PREFETCH_MS = 250;

type Row = { model: string; id?: string; uid?: string | null; payload: unknown; consumed_at: Date | null };

function payloadOf(row: { payload: unknown; consumed_at: Date | string | null }): ModelPayload {
  const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as ModelPayload;
  if (row.consumed_at) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
  return payload;
}

export class ModelStore {
  /** Saves and destroys go with the request's batch; oidc_token(s)_context read oidc_models too. */
  static readonly tables: StoreTables = {
    defers: ['oidc_models'],
    // Stryker disable next-line ArrayDeclaration,StringLiteral: read only by test/lint/deferred-writes.test.ts, for deferred tables; oidc_models is in defers, accounts is deferred by no store
    reads: ['oidc_models', 'accounts'],
  };

  /**
   * Access tokens that requests at the same moment store, one statement per turn, on PostgreSQL.
   * On the embedded database the grouped statement measured slower in the server (client
   * credentials 744 → 348 per core, quiet machine) although faster in-process: each goes alone.
   */
  readonly #accessTokens: InsertGroup | undefined;

  constructor(private readonly db: Db) {
    this.#accessTokens = onPostgres(db) ? new InsertGroup(db, UPSERT_ACCESS_TOKENS) : undefined;
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresInSeconds: number | undefined) {
    this.#forget(model, id, payload.uid);
    const expiresAt = expiresInSeconds ? new Date(Date.now() + expiresInSeconds * 1000) : null;
    const row = [
      model,
      id,
      JSON.stringify(payload),
      payload.grantId ?? null,
      payload.accountId ?? null,
      payload.uid ?? null,
      payload.userCode ?? null,
      expiresAt,
    ];
    if (ASYNC_COMMIT.has(model)) {
      const group = this.#accessTokens;
      if (!group) return writeNow(this.db, { sql: UPSERT_ACCESS_TOKEN, bindings: row });
      const values = [...(row.slice(0, 7) as (string | null)[]), expiresAt?.toISOString() ?? null];
      return afterPendingWrites(this.db, () => group.write({ key: `${model}:${id}`, values }));
    }
    // In a sign-in's requests the save goes with the request's other writes (write-batch.ts).
    await deferOrWrite(this.db, 'oidc_models', { sql: UPSERT, bindings: row }, `oidc_models:${model}:${id}`);
  }

  find(model: string, where: { id?: string; uid?: string; user_code?: string }) {
    // Nothing to wait for (not even a tick) unless this request has writes waiting.
    return afterPendingWrites(this.db, () => this.#find(model, where));
  }

  async #find(model: string, where: { id?: string; uid?: string; user_code?: string }) {
    const keys = Object.keys(where) as (keyof typeof where)[];
    // A row kept by #prefetchFor is under its model, field and value (a grant by id, a session by
    // uid): a look-up of anything else finds no key of its own there.
    if (keys.length === 1) {
      const prefetched = this.#prefetched.take(`${model}:${keys[0]}:${where[keys[0]!]}`);
      if (prefetched) return prefetched;
    }
    if (where.id !== undefined && keys.length === 1) return this.#findById(model, where.id);
    const row = await this.db('oidc_models')
      .select(
        // Stryker disable next-line ArrayDeclaration: knex reads an empty column list as select *, which reads these two as well
        ['payload', 'consumed_at'],
      )
      .where({ model, ...where })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', this.db.fn.now()))
      .first();
    return row ? payloadOf(row) : undefined;
  }

  /**
   * Look-ups of one id under several models in the same tick become one query: introspection
   * and revocation try a token as an access token, client-credentials token and refresh token
   * at once (three statements otherwise).
   */
  #findById(model: string, id: string): Promise<ModelPayload | undefined> {
    return new Promise((resolve, reject) => {
      let waiting = this.#byId.get(id);
      if (!waiting) {
        waiting = [];
        this.#byId.set(id, waiting);
        queueMicrotask(() => {
          this.#byId.delete(id);
          this.#runById(id, waiting!);
        });
      }
      waiting.push({ model, resolve, reject });
    });
  }

  readonly #byId = new Map<string, ByIdWaiter[]>();

  #runById(id: string, waiting: ByIdWaiter[]) {
    const models = [...new Set(waiting.map((w) => w.model))];
    this.#rowsById(id, models).then(
      ({ rows, read }) => {
        const { asked, tokens } = askedRows(rows, models, id);
        for (const token of tokens) this.#prefetchFor(payloadOf(token), rows, read);
        const given = new Set<unknown>();
        for (const w of waiting) {
          const row = asked.find((r) => r.model === w.model);
          if (!row) {
            w.resolve(undefined);
            continue;
          }
          // Two callers of one row each get their own copy: oidc-provider changes payloads it holds.
          const payload = payloadOf(row);
          w.resolve(given.has(row) ? structuredClone(payload) : payload);
          given.add(row);
        }
      },
      (err: unknown) => {
        for (const w of waiting) w.reject(err);
      },
    );
  }

  /**
   * The rows of one id under the given models. A token comes with what oidc-provider looks up
   * next, one after the other: its grant, its session (when the token ends with it) and its
   * account: one statement where there would be four. That is oidc_token_context (migration
   * 009) for a token looked up on its own (userinfo, code exchange, refresh), and
   * oidc_tokens_context (011) for one value looked up under several token models at once
   * (introspection, revocation: without the account, which neither reads). `read` says which of
   * them the rows include; other models (sessions, interactions, client-credentials tokens
   * alone) get the plain look-up, which reads none.
   */
  #rowsById(id: string, models: string[]): Promise<{ rows: Row[]; read: ReadonlySet<Context> }> {
    const [only] = models;
    if (models.length === 1 && only && TOKENS.has(only)) {
      return hotQuery(this.db, 'select * from oidc_token_context(?, ?)', [id, only]).then((r) => ({
        rows: rowsOf<Row>(r),
        read: GRANT_SESSION_ACCOUNT,
      }));
    }
    // Stryker disable next-line ConditionalExpression: oidc_tokens_context (011) answers a look-up without a token model as the plain statement below does, with no context rows
    if (models.some((m) => TOKENS.has(m))) {
      return hotQuery(
        this.db,
        `select * from oidc_tokens_context(?, array[${models.map(() => '?').join(', ')}])`,
        [id, ...models],
      ).then((r) => ({ rows: rowsOf<Row>(r), read: GRANT_SESSION }));
    }
    return hotQuery(
      this.db,
      `select model, id, uid, payload, consumed_at from oidc_models
        where id = ? and model in (${models.map(() => '?').join(', ')})
          and (expires_at is null or expires_at > now())`,
      [id, ...models],
    ).then((r) => ({ rows: rowsOf<Row>(r), read: NOTHING }));
  }

  readonly #prefetched = new PrefetchCache<Promise<ModelPayload | undefined>>(PREFETCH_MS);

  /**
   * Keeps what #rowsById read alongside a token for the look-ups that follow (contextEntries).
   * Each row serves one look-up within PREFETCH_MS; a write to it in this process forgets it.
   */
  #prefetchFor(token: ModelPayload, rows: Row[], read: ReadonlySet<Context>) {
    for (const [key, row] of contextEntries(token, rows, read))
      this.#prefetched.keep(key, Promise.resolve(row ? payloadOf(row) : undefined));
  }

  /**
   * The account row read with the token this request presented, if it was read in the last
   * PREFETCH_MS and not taken yet; only the token's own claims look-up asks for it.
   */
  takeAccount(id: string): Promise<AccountRow | undefined> | undefined {
    return this.#prefetched.take(`account ${id}`)?.then((json) => (json ? accountRowOf(json) : undefined));
  }

  #forget(model: string, id: string, uid?: unknown) {
    this.#prefetched.forget(`${model}:id:${id}`);
    if (model === 'Session') {
      if (typeof uid === 'string') this.#prefetched.forget(`Session:uid:${uid}`);
      else this.#prefetched.forgetStartingWith('Session:');
    }
  }

  /** Marks a row consumed unless it already was; true for exactly one caller. */
  async consume(model: string, id: string): Promise<boolean> {
    await flushWriteBatch(this.db);
    const changed = await this.db('oidc_models')
      .where({ model, id })
      .whereNull('consumed_at')
      .update({ consumed_at: this.db.fn.now() })
      .returning('id');
    return rowsOf(changed).length === 1;
  }

  async destroy(model: string, id: string) {
    this.#forget(model, id);
    await deferOrWrite(
      this.db,
      'oidc_models',
      this.db('oidc_models').where({ model, id }).delete().toSQL(),
      `oidc_models:${model}:${id}`,
    );
  }

  /** Revokes every model of a grant: tokens, codes, and the grant itself. */
  async revokeByGrantId(grantId: string) {
    await flushWriteBatch(this.db);
    this.#prefetched.clear();
    // An interaction names the grant it continues; it is the browser's sign-in in progress, not a
    // token of the grant. When a sign-in as another account ends the old session (whose grants
    // go), oidc-provider resumes that same interaction afterwards.
    await this.db('oidc_models').where({ grant_id: grantId }).whereNot({ model: 'Interaction' }).delete();
  }

  /** Sessions of an account, for ending them all (password reset, account closure). */
  async sessionsOf(accountId: string): Promise<{ id: string; payload: ModelPayload }[]> {
    await flushWriteBatch(this.db);
    const rows = await this.db('oidc_models')
      .select(
        // Stryker disable next-line ArrayDeclaration: knex reads an empty column list as select *, which reads these two as well
        ['id', 'payload'],
      )
      .where({ model: 'Session', account_id: accountId });
    return rows.map((r: { id: string; payload: unknown }) => ({
      id: r.id,
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as ModelPayload,
    }));
  }

  /** Grants, codes and tokens one site holds for an account (取消授权). */
  async revokeClient(accountId: string, clientId: string): Promise<number> {
    await flushWriteBatch(this.db);
    this.#prefetched.clear();
    return affected(
      await this.db('oidc_models')
        .where({ account_id: accountId })
        .whereIn('model', ['Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken'])
        .andWhereRaw(`payload->>'clientId' = ?`, [clientId])
        .delete(),
    );
  }

  /** Every session, grant, code and token of an account. */
  async removeAllOf(accountId: string): Promise<number> {
    await flushWriteBatch(this.db);
    this.#prefetched.clear();
    return affected(await this.db('oidc_models').where({ account_id: accountId }).delete());
  }
}
