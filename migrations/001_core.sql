-- Everything oidc-provider stores (sessions, interactions, codes, tokens, grants, PAR, replay
-- detection …), one row per model instance. Lookup keys are indexed; expired rows are swept.
create table oidc_models (
  model text not null,
  id text not null,
  payload jsonb not null,
  grant_id text,
  uid text,
  user_code text,
  expires_at timestamptz,
  consumed_at timestamptz,
  primary key (model, id)
);
create index oidc_models_grant_id on oidc_models (grant_id) where grant_id is not null;
create index oidc_models_uid on oidc_models (uid) where uid is not null;
create index oidc_models_user_code on oidc_models (user_code) where user_code is not null;
create index oidc_models_expires_at on oidc_models (expires_at) where expires_at is not null;

-- Signing keys: 'next' is published before it signs, 'current' signs, 'retired' stays
-- published until tokens it signed have expired (publish_until).
create table signing_keys (
  kid text primary key,
  alg text not null,
  state text not null check (state in ('next', 'current', 'retired')),
  private_jwk text not null,
  created_at timestamptz not null default now(),
  activated_at timestamptz,
  retired_at timestamptz,
  publish_until timestamptz
);
create index signing_keys_state on signing_keys (state);

-- Relying parties (government service sites). Secrets are sealed with DATA_ENCRYPTION_KEY.
create table clients (
  client_id text primary key,
  name text not null,
  client_secret text,
  metadata jsonb not null,
  first_party boolean not null default false,
  require_level text,
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table accounts (
  id text primary key,
  user_type text not null check (user_type in ('natural_person', 'legal_person')),
  phone text unique,
  password_hash text,
  certification_level text not null default 'L1' check (certification_level in ('L1', 'L2', 'L3')),
  status text not null default 'active' check (status in ('active', 'locked', 'closed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Consent remembered per account and site, across sessions: each new session gets a grant of
-- what was agreed before, so the consent page appears only for data not yet agreed to.
create table consents (
  account_id text not null references accounts (id) on delete cascade,
  client_id text not null references clients (client_id) on delete cascade,
  scope text not null,
  claims jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (account_id, client_id)
);

-- Fixed-window counters shared by every process (login attempts, /token, SMS …).
create table rate_limits (
  key text primary key,
  count integer not null,
  window_ends_at timestamptz not null
);
create index rate_limits_window_ends_at on rate_limits (window_ends_at);
