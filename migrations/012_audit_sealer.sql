-- Appends no longer chain: an event is one plain insert (seq, prev_hash and hash empty), and one
-- sealer at a time (whichever process holds the advisory lock for a pass) chains the pending
-- rows in batches. `seq` is the position in the chain: a row that commits late is chained after
-- rows with higher ids, so the chain's order is its own, not the ids'.
alter table audit_events alter column prev_hash drop not null;
alter table audit_events alter column hash drop not null;
alter table audit_events add column seq bigint;
-- The rows chained so far were chained in id order.
update audit_events set seq = id;
create unique index audit_events_seq on audit_events (seq);
-- What the sealer looks for; small, since rows leave it within a second.
create index audit_events_pending on audit_events (id) where seq is null;

-- The sealer's end of the chain lives in columns of its own: processes of the previous release,
-- still running during a rolling upgrade, keep moving prev_hash/hash, which nothing reads now
-- (their rows arrive with seq empty and are chained again by the sealer).
-- base_*: where the chain kept in the table starts once older rows were archived, and the
-- signed checkpoint that names that point.
alter table audit_head add column sealed_seq bigint not null default 0;
alter table audit_head add column sealed_hash text not null default 'genesis';
alter table audit_head add column sealed_id bigint not null default 0;
alter table audit_head add column base_seq bigint not null default 0;
alter table audit_head add column base_hash text not null default 'genesis';
alter table audit_head add column base_checkpoint text;
alter table audit_head add column checkpoint_at timestamptz;
alter table audit_head add column checkpoint_seq bigint not null default 0;
update audit_head
   set sealed_seq = coalesce((select max(id) from audit_events), 0),
       sealed_id = coalesce((select max(id) from audit_events), 0),
       sealed_hash = hash;

-- Every signed checkpoint, also kept here so that archives can carry the one that covers them.
-- The witness is the copy outside (AUDIT_CHECKPOINT_DIR, the log, AUDIT_CHECKPOINT_URL).
create table audit_checkpoints (
  seq bigint not null,
  event_id bigint not null,
  hash text not null,
  signed_at timestamptz not null,
  jws text not null,
  primary key (seq, signed_at)
);
