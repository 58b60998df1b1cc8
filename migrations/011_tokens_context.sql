-- oidc_token_context (009) for a value looked up under several token models at once, as
-- introspection and revocation do (access token, client-credentials token, refresh token): the
-- token found, with its grant and its session (when the token ends with it), in one call; not
-- its account, which neither reads. Without them the look-ups that follow (the session binding,
-- the grant) each cost a statement of their own; with them they are answered from what was read.
-- A PL/pgSQL function for the same reason as 009: it keeps its plan per connection.
create function oidc_tokens_context(p_id text, p_models text[])
returns table (model text, id text, uid text, payload jsonb, consumed_at timestamptz)
language plpgsql stable as $$
#variable_conflict use_column
begin
  return query
  with t as (
    select m.model, m.id, m.uid, m.payload, m.consumed_at from oidc_models m
     where m.id = p_id and m.model = any (p_models) and (m.expires_at is null or m.expires_at > now())
  ), next as (
    select t.payload->>'grantId' as grant_id,
           case when t.payload->>'expiresWithSession' = 'true' then t.payload->>'sessionUid' end as session_uid
      from t
  )
  select t.model, t.id, t.uid, t.payload, t.consumed_at from t
  union all
  select m.model, m.id, m.uid, m.payload, m.consumed_at
    from next join oidc_models m on m.model = 'Grant' and m.id = next.grant_id
   where m.expires_at is null or m.expires_at > now()
  union all
  select m.model, m.id, m.uid, m.payload, m.consumed_at
    from next join oidc_models m on m.model = 'Session' and m.uid = next.session_uid
   where m.expires_at is null or m.expires_at > now();
end
$$;
