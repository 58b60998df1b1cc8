-- 三员分立 for automation: a client_credentials client with the `admin` scope acts for exactly one
-- of the three operator roles and reaches only that role's part of the admin API. Machine
-- clients registered before this column existed have no role, and the admin API refuses them
-- until they are registered again with `unified-id clients add --admin-role`.
alter table clients add column admin_role text;
alter table clients add constraint clients_admin_role_check
  check (admin_role is null or admin_role in ('system', 'security', 'audit'));
