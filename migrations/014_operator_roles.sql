-- 三员分立 (等保 2.0 level 3): every operator holds exactly one of three roles. Operators added
-- before roles existed become 安全管理员, the role that grants and removes the others.
alter table operators add column role text not null default 'security';
alter table operators alter column role drop default;
alter table operators add constraint operators_role_check check (role in ('system', 'security', 'audit'));
-- The console's 操作员 page shows when each operator last signed in to it.
alter table operators add column last_signed_in_at timestamptz;
