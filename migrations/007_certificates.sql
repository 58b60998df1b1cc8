-- CA certificates bound to legal-person accounts (绑定证书); a bound one makes the account L3.
create table bound_certificates (
  fingerprint text primary key,
  account_id text not null references accounts (id) on delete cascade,
  subject text not null,
  issuer text not null,
  serial_hex text not null,
  key_algorithm text not null,
  not_after timestamptz not null,
  created_at timestamptz not null default now()
);
create index bound_certificates_account on bound_certificates (account_id);
