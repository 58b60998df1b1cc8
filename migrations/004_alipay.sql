-- Alipay users linked to accounts (支付宝登录, 支付宝关联注册, 支付宝认证): one Alipay user per
-- account and one account per Alipay user. The Alipay user id (user_id, or open_id for newer
-- apps) is found by a keyed hash and kept sealed only to show it masked. Alipay's tokens are not
-- stored: they live only for the duration of one callback.
create table alipay_links (
  account_id text primary key references accounts (id) on delete cascade,
  alipay_user_hash text not null unique,
  alipay_user text not null,
  id_kind text not null check (id_kind in ('user_id', 'open_id')),
  created_at timestamptz not null default now()
);
