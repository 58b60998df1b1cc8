-- The end of the audit chain in one row: an append updates it and inserts the event in a single
-- statement (the row lock orders concurrent appends of every process), instead of a transaction
-- of five statements under an advisory lock.
create table audit_head (
  singleton boolean primary key default true check (singleton),
  prev_hash text not null,
  hash text not null
);
insert into audit_head (prev_hash, hash)
select coalesce((select prev_hash from audit_events order by id desc limit 1), 'genesis'),
       coalesce((select hash from audit_events order by id desc limit 1), 'genesis');
