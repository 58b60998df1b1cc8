-- APIs of relying parties (RFC 8707 resource servers). A client that asks for one with the
-- `resource` parameter gets an access token whose audience is the identifier: a signed JWT
-- (RFC 9068) the API checks against /jwks by itself, or an opaque token it introspects.
-- Managed with `unified-id resources add|list|remove` and the admin API.
create table resource_servers (
  identifier text primary key,
  -- The scopes the API understands, space-separated as in OAuth's `scope` parameter.
  scopes text not null,
  format text not null check (format in ('jwt', 'opaque')),
  access_token_ttl integer not null check (access_token_ttl > 0),
  created_at timestamptz not null default now()
);
