-- 用户空间 lists the enterprises a citizen is the legal representative of (我担任法定代表人的法人账号):
-- looked up by the representative's account on every visit of 基本信息, so indexed.
create index legal_persons_representative on legal_persons (representative_account_id);
