import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../support/databases.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * The OpenID Foundation's Config OP test plan (oidcc-config-certification-test-plan): the
 * discovery document and the published keys, read as any relying party reads them.
 */
describe.each(databaseKinds())('OpenID Connect Discovery and keys (%s)', (kind) => {
  let server: TestServer;
  let metadata: Record<string, unknown>;
  let response: Response;

  beforeAll(async () => {
    server = await startTestServer({ kind });
    response = await fetch(new URL('/.well-known/openid-configuration', server.issuer));
    metadata = (await response.json()) as Record<string, unknown>;
  });
  afterAll(() => server?.close());

  const list = (name: string) => metadata[name] as string[];

  it('Discovery §4.1, §4.2: the configuration is JSON at /.well-known/openid-configuration, and its issuer is the issuer (oidcc-discovery-issuer-not-matching-config)', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(metadata['issuer']).toBe(server.issuer);
    // §4.3: the issuer the ID tokens carry is this string exactly, with no trailing slash added.
    expect(String(metadata['issuer']).endsWith('/')).toBe(false);
  });

  it('Discovery §3: the REQUIRED members are present, the endpoints under the issuer (oidcc-discovery-endpoint-verification)', () => {
    for (const name of [
      'authorization_endpoint',
      'token_endpoint',
      'jwks_uri',
      'userinfo_endpoint',
      'end_session_endpoint',
      'introspection_endpoint',
      'revocation_endpoint',
      'pushed_authorization_request_endpoint',
    ]) {
      expect(metadata[name], name).toEqual(expect.any(String));
      expect(String(metadata[name]).startsWith(server.issuer), name).toBe(true);
    }
    for (const name of [
      'response_types_supported',
      'subject_types_supported',
      'id_token_signing_alg_values_supported',
    ]) {
      expect(Array.isArray(metadata[name]), name).toBe(true);
    }
  });

  it('Discovery §3, OIDC Core 3.1.2.1, RFC 9700 §2.1.2: code is the only response type; form_post is offered', () => {
    expect(list('response_types_supported')).toEqual(['code']);
    expect(list('response_modes_supported')).toEqual(expect.arrayContaining(['query', 'form_post']));
    expect(list('grant_types_supported')).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    expect(list('grant_types_supported')).not.toContain('implicit');
    expect(list('grant_types_supported')).not.toContain('password');
  });

  it('Discovery §3: scopes, claims and subject types as the README lists them (oidcc-discovery-claims-supported)', () => {
    expect(list('scopes_supported')).toEqual(
      expect.arrayContaining(['openid', 'profile', 'phone', 'offline_access']),
    );
    expect(list('claims_supported')).toEqual(
      expect.arrayContaining([
        'sub',
        'certification_level',
        'user_type',
        'acr',
        'amr',
        'phone_number',
        'name',
      ]),
    );
    expect(list('subject_types_supported')).toEqual(expect.arrayContaining(['public', 'pairwise']));
    expect(metadata['claims_parameter_supported']).toBe(true);
    expect(list('acr_values_supported')).toEqual([
      'urn:unified-id:acr:basic',
      'urn:unified-id:acr:mfa',
      'urn:unified-id:acr:cert',
    ]);
  });

  it('Discovery §3, RFC 7636 §4.3: PKCE S256 only; ES256 and RS256 ID tokens; the client authentication methods', () => {
    expect(list('code_challenge_methods_supported')).toEqual(['S256']);
    expect(list('id_token_signing_alg_values_supported')).toEqual(expect.arrayContaining(['ES256', 'RS256']));
    expect(list('id_token_signing_alg_values_supported')).not.toContain('none');
    expect(list('token_endpoint_auth_methods_supported')).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']),
    );
  });

  it('RFC 9207 §3, RFC 9126 §5, Back-Channel Logout §2.1: iss in responses, PAR and back-channel logout are announced', () => {
    expect(metadata['authorization_response_iss_parameter_supported']).toBe(true);
    // RFC 9126 §5: absent means false.
    expect(metadata['require_pushed_authorization_requests'] ?? false).toBe(false);
    expect(metadata['backchannel_logout_supported']).toBe(true);
    expect(metadata['backchannel_logout_session_supported']).toBe(true);
  });

  it('RFC 8414 §3: the OAuth authorization server metadata says the same', async () => {
    const res = await fetch(new URL('/.well-known/oauth-authorization-server', server.issuer));
    expect(res.status).toBe(200);
    const oauth = (await res.json()) as Record<string, unknown>;
    for (const name of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      expect(oauth[name], name).toEqual(metadata[name]);
    }
  });

  it('Discovery §4, CORS: a site’s browser code may read the configuration and keys', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const res = await fetch(new URL(path, server.issuer), {
        headers: { origin: 'https://rp.example.gov.cn' },
      });
      expect(['*', 'https://rp.example.gov.cn'], path).toContain(
        res.headers.get('access-control-allow-origin'),
      );
    }
  });

  it('OIDC Core 10.1, RFC 7517 §4–5: jwks_uri serves public signing keys only, each with kid, use sig and alg (oidcc-server-rotate-keys, oidcc-discovery-jwks)', async () => {
    const res = await fetch(String(metadata['jwks_uri']));
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const kids = keys.map((k) => k['kid']);
    expect(new Set(kids).size).toBe(kids.length);
    for (const key of keys) {
      expect(key['kid']).toEqual(expect.any(String));
      expect(key['use']).toBe('sig');
      expect(['ES256', 'RS256']).toContain(key['alg']);
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        expect(key, String(key['kid'])).not.toHaveProperty(secret);
    }
    for (const alg of ['ES256', 'RS256'])
      expect(
        keys.some((k) => k['alg'] === alg),
        alg,
      ).toBe(true);
  });
});
