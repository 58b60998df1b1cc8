-- Legal persons (法人): enterprises, cooperatives, individual businesses, public institutions,
-- social organisations and government organs, each under a verified citizen as representative.
-- Their own accounts.phone stays NULL (it is unique, and the representative's citizen account
-- already holds that number): the contact phone for SMS codes lives here.
create table legal_persons (
  account_id text primary key references accounts (id) on delete cascade,
  credit_code text not null unique,
  org_name text not null,
  legal_type text not null,
  representative_account_id text not null references accounts (id),
  contact_phone text not null,
  verified_at timestamptz,
  created_at timestamptz not null default now()
);
