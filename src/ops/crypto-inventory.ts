import { INDEX_PREFIX, SEAL_PREFIX } from '../crypto/sealed.js';

/**
 * Every place a value protected by the crypto profile is kept: what `unified-id crypto status`
 * counts and `unified-id crypto migrate` moves. A new sealed column or blind index belongs here.
 */

/** A column of values sealed by DataProtector, each row's context built from its key column. */
export interface SealedColumn {
  kind: 'sealed';
  table: string;
  column: string;
  key: string;
  context: (key: string) => string;
}

/**
 * A blind index the product can compute again from the row itself: the plaintext is sealed in
 * `source` (opened with `context`), and `input` makes the index's input from it and the row.
 */
export interface RebuildableIndex {
  kind: 'index';
  table: string;
  column: string;
  key: string;
  indexKind: string;
  source: string;
  context: (key: string) => string;
  /** Other columns the input needs. */
  with: readonly string[];
  input: (plain: string, row: Record<string, string>) => string;
}

/** An index or sealed value that can not be moved: it stays until it is replaced or expires. */
export interface KeptAsMade {
  kind: 'kept';
  table: string;
  column: string;
  /** How a row's algorithm shows: a SQL expression over the column, giving the algorithm's name. */
  algorithmSql: string;
  /** Which of the profile's algorithms a row must name to count as moved (`crypto status`). */
  target: 'sealed' | 'index' | 'auditChain' | 'passwords';
  why: string;
}

export type Protected = SealedColumn | RebuildableIndex | KeptAsMade;

export const SEALED_SQL = (column: string) =>
  `case when ${column} like '${SEAL_PREFIX['sm4-cbc+hmac-sm3']}%' then 'sm4-cbc+hmac-sm3' when ${column} like '${SEAL_PREFIX['aes-256-gcm']}%' then 'aes-256-gcm' else 'unknown' end`;
export const INDEX_SQL = (column: string) =>
  `case when ${column} like '${INDEX_PREFIX['hmac-sm3']}%' then 'hmac-sm3' else 'hmac-sha256' end`;

export const PROTECTED: readonly Protected[] = [
  {
    kind: 'sealed',
    table: 'accounts',
    column: 'real_name',
    key: 'id',
    context: (id) => `account:${id}:real_name`,
  },
  {
    kind: 'sealed',
    table: 'accounts',
    column: 'id_number',
    key: 'id',
    context: (id) => `account:${id}:id_number`,
  },
  { kind: 'sealed', table: 'accounts', column: 'totp_secret', key: 'id', context: (id) => `totp:${id}` },
  {
    kind: 'index',
    table: 'accounts',
    column: 'id_number_hash',
    key: 'id',
    indexKind: 'id_number',
    source: 'id_number',
    context: (id) => `account:${id}:id_number`,
    with: [],
    input: (idNumber) => idNumber,
  },
  {
    kind: 'sealed',
    table: 'alipay_links',
    column: 'alipay_user',
    key: 'account_id',
    context: (accountId) => `alipay_link:${accountId}`,
  },
  {
    kind: 'index',
    table: 'alipay_links',
    column: 'alipay_user_hash',
    key: 'account_id',
    indexKind: 'alipay_user',
    source: 'alipay_user',
    context: (accountId) => `alipay_link:${accountId}`,
    with: ['id_kind'],
    input: (userId, row) => `${row['id_kind']}:${userId}`,
  },
  {
    kind: 'sealed',
    table: 'clients',
    column: 'client_secret',
    key: 'client_id',
    context: (clientId) => `client:${clientId}`,
  },
  {
    kind: 'sealed',
    table: 'resource_servers',
    column: 'client_secret',
    key: 'client_id',
    context: (clientId) => `client:${clientId}`,
  },
  {
    kind: 'sealed',
    table: 'signing_keys',
    column: 'private_jwk',
    key: 'kid',
    context: (kid) => `key:${kid}`,
  },
  {
    kind: 'kept',
    table: 'accounts',
    column: 'password_hash',
    algorithmSql: `case when password_hash like 'hmac-sm3$%' then 'hmac-sm3+argon2id' else 'argon2id' end`,
    target: 'passwords',
    why: 'needs the password: redone at each account’s next successful login',
  },
  {
    kind: 'kept',
    table: 'recovery_codes',
    column: 'code_hash',
    algorithmSql: INDEX_SQL('code_hash'),
    target: 'index',
    why: 'needs the code: kept until the user makes new codes; both kinds are accepted',
  },
  {
    kind: 'kept',
    table: 'sms_codes',
    column: 'code_hash',
    algorithmSql: INDEX_SQL('code_hash'),
    target: 'index',
    why: 'needs the code: expires within minutes; both kinds are accepted',
  },
  {
    kind: 'kept',
    table: 'flow_states',
    column: "data->>'sealed'",
    algorithmSql: SEALED_SQL("data->>'sealed'"),
    target: 'sealed',
    why: 'a sign-in or registration in progress: expires with it; both kinds are read',
  },
  {
    kind: 'kept',
    table: 'audit_events',
    column: 'hash',
    algorithmSql: `case when hash like 'sm3:%' then 'sm3' else 'sha256' end`,
    target: 'auditChain',
    why: 'the audit chain is never rewritten: new links use the profile, each row names its hash',
  },
];

export const nameOf = (p: Protected) => `${p.table}.${p.column}`;
