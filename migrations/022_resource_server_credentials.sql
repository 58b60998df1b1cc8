-- Each registered API has credentials of its own, so that it can introspect the tokens whose
-- audience it is (RFC 7662). The secret is sealed like a site's (clients.client_secret). An API
-- registered before has none until `unified-id resources rotate-secret` gives it a pair.
alter table resource_servers add column client_id text unique;
alter table resource_servers add column client_secret text;
