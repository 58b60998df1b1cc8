-- The development SMS gateway's outbox (GET /dev/sms): in the database, so every process sees the
-- messages any process sent. Never written in production, where the dev gateway refuses to start.
create table dev_sms_outbox (
  id bigint generated always as identity primary key,
  phone text not null,
  template_id text not null,
  params jsonb not null,
  text text not null,
  sent_at timestamptz not null default now()
);
-- listOutbox: one phone's messages, newest first (id breaks ties within one transaction).
create index dev_sms_outbox_phone on dev_sms_outbox (phone, sent_at desc, id desc);
