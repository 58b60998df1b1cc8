-- Security events of every account and admin action, each row chained to the previous one by
-- SHA-256 so that a deleted or altered row is detected (unified-id audit verify).
create table audit_events (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null,
  account_id text,
  actor text not null,
  type text not null,
  method text,
  outcome text not null,
  ip text,
  user_agent text,
  detail jsonb not null default '{}',
  prev_hash text not null,
  hash text not null
);
create index audit_events_account on audit_events (account_id, occurred_at desc) where account_id is not null;
create index audit_events_occurred_at on audit_events (occurred_at);

-- Where and with what each SSO session was opened (登录设备).
create table session_meta (
  session_uid text primary key,
  account_id text not null,
  ip text,
  user_agent text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index session_meta_account on session_meta (account_id);
create index session_meta_expires_at on session_meta (expires_at);

-- Two-step verification (TOTP) and its single-use recovery codes, stored hashed.
alter table accounts add column totp_secret text;
alter table accounts add column totp_enabled_at timestamptz;
create table recovery_codes (
  account_id text not null references accounts (id) on delete cascade,
  code_hash text not null,
  used_at timestamptz,
  primary key (account_id, code_hash)
);
