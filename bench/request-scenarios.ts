import type { LoadRequest, Scenario } from './load.js';
import { basicAuth, type ClientCredentials, type discoverEndpoints } from './setup.js';

type Endpoints = Awaited<ReturnType<typeof discoverEndpoints>>['endpoints'];

/**
 * The single-request scenarios, defined once: the load test cycles through their requests with
 * autocannon, and the query profile sends each one to count its statements.
 */
export function requestScenarios(
  endpoints: Endpoints,
  given: {
    /** Clients that ask for client-credentials tokens (several, to spread the per-client limit). */
    machines: ClientCredentials[];
    /** The site's Basic credentials with an access token it holds, for introspection. */
    introspection: { auth: string; token: string }[];
    /** A citizen's access token. */
    userinfo: string;
    /** A registered API (resource server) whose client-credentials tokens are JWTs; none at the ceiling. */
    api?: { identifier: string; scope: string } | undefined;
  },
): Scenario[] {
  const form = 'application/x-www-form-urlencoded';
  const { api } = given;
  const jwtScenario: Scenario[] = api
    ? [
        {
          // RFC 9068 for an API: signed, not stored. Compared with the ceiling's opaque tokens.
          name: 'client credentials (JWT resource)',
          requests: given.machines.map((m) => ({
            method: 'POST',
            path: endpoints.token,
            headers: { authorization: basicAuth(m), 'content-type': form },
            body: `grant_type=client_credentials&scope=${encodeURIComponent(api.scope)}&resource=${encodeURIComponent(api.identifier)}`,
          })),
          expect: (body) => body.includes('"access_token":"ey'),
        },
      ]
    : [];
  return [
    {
      name: 'client credentials',
      requests: given.machines.map((m) => ({
        method: 'POST',
        path: endpoints.token,
        headers: { authorization: basicAuth(m), 'content-type': form },
        body: 'grant_type=client_credentials',
      })),
      expect: (body) => body.includes('"access_token"'),
    },
    ...jwtScenario,
    {
      name: 'introspection',
      requests: given.introspection.map((t) => ({
        method: 'POST',
        path: endpoints.introspection,
        headers: { authorization: t.auth, 'content-type': form },
        body: `token=${encodeURIComponent(t.token)}`,
      })),
      expect: (body) => body.includes('"active":true'),
    },
    {
      name: 'userinfo',
      requests: [
        { method: 'GET', path: endpoints.userinfo, headers: { authorization: `Bearer ${given.userinfo}` } },
      ],
      expect: (body) => body.includes('"sub"'),
    },
    {
      name: 'jwks',
      requests: [{ method: 'GET', path: endpoints.jwks, headers: {} }],
      expect: (body) => body.includes('"keys"'),
    },
  ];
}

/** Sends one of a scenario's requests and fails loudly unless the answer is what the load test counts. */
export async function sendOnce(base: string, scenario: Scenario, request: LoadRequest): Promise<void> {
  const res = await fetch(new URL(request.path, base), {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const body = await res.text();
  if (res.status !== 200 || !scenario.expect(body))
    throw new Error(`${scenario.name}: ${res.status} ${body.slice(0, 300)}`);
}
