-- Real-name identity, sealed with DATA_ENCRYPTION_KEY and found through a keyed-hash index.
alter table accounts add column real_name text;
alter table accounts add column id_number text;
alter table accounts add column id_number_hash text unique;
alter table accounts add column id_type text;
alter table accounts add column verified_at timestamptz;
alter table accounts add column verification_method text;
-- 登录失败处理: consecutive password failures and the lock they lead to.
alter table accounts add column failed_logins integer not null default 0;
alter table accounts add column password_locked_until timestamptz;

-- Lets a password reset find and end every session and token of an account.
alter table oidc_models add column account_id text;
create index oidc_models_account_id on oidc_models (account_id) where account_id is not null;

-- One current image captcha per browser, single use.
create table captchas (
  browser_id text primary key,
  answer text not null,
  expires_at timestamptz not null
);
create index captchas_expires_at on captchas (expires_at);

-- SMS codes, stored as keyed hashes, bound to a phone and a purpose.
create table sms_codes (
  id bigint generated always as identity primary key,
  phone text not null,
  purpose text not null,
  code_hash text not null,
  attempts integer not null default 0,
  ip text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz
);
create index sms_codes_phone_purpose on sms_codes (phone, purpose, created_at desc);
create index sms_codes_expires_at on sms_codes (expires_at);

-- Flow state kept between pages of one interaction (e.g. the account a registration created).
create table flow_states (
  id text primary key,
  data jsonb not null,
  expires_at timestamptz not null
);
create index flow_states_expires_at on flow_states (expires_at);
