-- The development SMS gateway's outbox (GET /dev/sms), readable by every process.
create table dev_sms_outbox (
  id bigint generated always as identity primary key,
  phone text not null,
  template_id text not null,
  params jsonb not null,
  text text not null,
  sent_at timestamptz not null default now()
);
create index dev_sms_outbox_phone on dev_sms_outbox (phone, id desc);
