-- The people who may use the admin API with their own sign-in (acr mfa or cert), besides
-- automation with client credentials. Managed with `unified-id operators add|remove`.
create table operators (
  account_id text primary key references accounts (id) on delete cascade,
  added_at timestamptz not null default now(),
  added_by text not null
);
