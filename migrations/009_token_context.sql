-- A presented token with what oidc-provider looks up right after it: its grant, its session
-- (when the token ends with the session) and its account, in one call. A function rather than
-- the same query sent from the provider: PL/pgSQL keeps the plan for the life of the database
-- connection, where the query sent as text would be planned on every call (planning it cost
-- four times its execution). It keeps no state a pooler in transaction mode could lose.
create function oidc_token_context(p_id text, p_model text)
returns table (model text, id text, uid text, payload jsonb, consumed_at timestamptz)
language plpgsql stable as $$
#variable_conflict use_column
begin
  return query
  with t as (
    select m.model, m.id, m.uid, m.payload, m.consumed_at from oidc_models m
     where m.id = p_id and m.model = p_model and (m.expires_at is null or m.expires_at > now())
  ), next as (
    select t.payload->>'grantId' as grant_id, t.payload->>'accountId' as account_id,
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
   where m.expires_at is null or m.expires_at > now()
  union all
  select 'Account'::text, a.id, null::text, to_jsonb(a), null::timestamptz
    from next join accounts a on a.id = next.account_id;
end
$$;
