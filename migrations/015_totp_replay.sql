-- 两步验证 done right: a TOTP code is accepted once (the last accepted time-step is kept per
-- account, and a code of that step or an earlier one is refused), and the attempts at TOTP and
-- recovery codes are counted atomically (one UPDATE … WHERE attempts < N RETURNING), so parallel
-- guesses can not pass the cap.
alter table accounts add column totp_last_step bigint;
alter table accounts add column totp_attempts integer not null default 0;
alter table accounts add column totp_attempts_until timestamptz;
