import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { ACR } from '../access/scopes.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { requireAdmin } from './admin-auth.js';

// The admin API's door, without a server: the tokens oidc-provider would find are given by hand,
// so each refusal an attacker could meet is tried on its own. Everything is built inside each test
// (docs/mutation-testing.md).

interface FakeToken {
  scope?: string;
  isExpired?: boolean;
  clientId?: string;
  accountId?: string;
  extra?: { acr?: unknown };
}

const MACHINE = 'machine-token';
const PERSON = 'person.token-_~+/=';

function guard({
  machines = {} as Record<string, FakeToken>,
  people = {} as Record<string, FakeToken>,
  operatorRoles = { 'acc-sec': 'security', 'acc-sys': 'system' } as Record<string, string>,
  clientRoles = { 'cli-sys': 'system' } as Record<string, string>,
} = {}) {
  const host = {
    provider: {
      ClientCredentials: { find: async (value: string) => machines[value] },
      AccessToken: { find: async (value: string) => people[value] },
    },
  } as unknown as ProviderHost;
  return requireAdmin(
    host,
    { roleOf: async (id) => operatorRoles[id] as never },
    { adminRoleOf: async (id) => clientRoles[id] as never },
  );
}

async function call(middleware: ReturnType<typeof guard>, authorization: string | undefined, path: string) {
  const headers: Record<string, string> = {};
  const ctx = {
    path,
    state: {} as Record<string, unknown>,
    get: (name: string) => (name.toLowerCase() === 'authorization' ? (authorization ?? '') : ''),
    set: (name: string, value: string) => {
      headers[name] = value;
    },
  } as unknown as Context;
  let reached = false;
  const outcome = await middleware(ctx, async () => {
    reached = true;
  }).then(
    () => undefined,
    (err: { status: number; code: string; userMessage: string }) => err,
  );
  return { reached, error: outcome, state: ctx.state, headers };
}

const person = (overrides: FakeToken = {}): FakeToken => ({
  scope: 'openid admin',
  isExpired: false,
  accountId: 'acc-sec',
  extra: { acr: ACR.mfa },
  ...overrides,
});
const machine = (overrides: FakeToken = {}): FakeToken => ({
  scope: 'admin',
  isExpired: false,
  clientId: 'cli-sys',
  ...overrides,
});

describe('the admin API asks for a bearer token', () => {
  it.each([
    ['no Authorization header', undefined],
    ['another scheme', `Basic ${PERSON}`],
    ['a token followed by more', `Bearer ${PERSON} extra`],
    ['something before the scheme', `x Bearer ${PERSON}`],
    ['a scheme without a token', 'Bearer '],
    ['characters no token has', 'Bearer abc"def'],
  ])('refuses %s with 401 and names the realm', async (_, authorization) => {
    const { reached, error, headers } = await call(
      guard({ people: { [PERSON]: person() } }),
      authorization,
      '/admin/api/accounts',
    );
    expect(reached).toBe(false);
    expect(error).toMatchObject({
      status: 401,
      code: 'invalid_token',
      userMessage: 'a bearer access token with the admin scope is required',
    });
    expect(headers['WWW-Authenticate']).toBe('Bearer realm="unified-id-admin"');
  });

  it('takes the scheme in any case and the token after any spaces', async () => {
    const middleware = guard({ people: { [PERSON]: person() } });
    expect((await call(middleware, `bearer ${PERSON}`, '/admin/api/accounts')).reached).toBe(true);
    expect((await call(middleware, `BEARER   ${PERSON}`, '/admin/api/accounts')).reached).toBe(true);
  });

  it('refuses a token the provider does not know, or one that has expired', async () => {
    const middleware = guard({
      people: { expired: person({ isExpired: true }) },
      machines: { 'expired-machine': machine({ isExpired: true }) },
    });
    for (const token of ['unknown', 'expired', 'expired-machine']) {
      const { reached, error } = await call(middleware, `Bearer ${token}`, '/admin/api/accounts');
      expect(reached).toBe(false);
      expect(error).toMatchObject({
        status: 401,
        code: 'invalid_token',
        userMessage: 'the access token is invalid or expired',
      });
    }
  });

  it('refuses a token without the admin scope, a look-alike scope included', async () => {
    const middleware = guard({
      people: { a: person({ scope: 'openid profile' }), b: person({ scope: 'openid administrator' }) },
      machines: { c: machine({ scope: undefined }) },
    });
    for (const token of ['a', 'b', 'c']) {
      const { reached, error } = await call(middleware, `Bearer ${token}`, '/admin/api/clients');
      expect(reached).toBe(false);
      expect(error).toMatchObject({
        status: 403,
        code: 'insufficient_scope',
        userMessage: 'the admin scope is required',
      });
    }
  });
});

describe('a machine client acts in the one role it was registered for', () => {
  it("reaches its role's part of the API as admin:<client id>", async () => {
    const { reached, state } = await call(
      guard({ machines: { [MACHINE]: machine() } }),
      `Bearer ${MACHINE}`,
      '/admin/api/clients/abc',
    );
    expect(reached).toBe(true);
    expect(state).toEqual({ adminActor: 'admin:cli-sys', adminRole: 'system' });
  });

  it("is refused another role's part, and any part no role owns", async () => {
    const middleware = guard({ machines: { [MACHINE]: machine() } });
    for (const path of ['/admin/api/accounts', '/admin/api/audit', '/admin/api/unlisted']) {
      const { reached, error, state } = await call(middleware, `Bearer ${MACHINE}`, path);
      expect(reached).toBe(false);
      expect(error).toMatchObject({ status: 403, code: 'role_forbidden' });
      expect(state).toEqual({});
    }
  });

  it('is refused when its client acts for no role, or the token names no client', async () => {
    const middleware = guard({
      machines: { roleless: machine({ clientId: 'cli-none' }), anonymous: machine({ clientId: undefined }) },
    });
    for (const token of ['roleless', 'anonymous']) {
      const { reached, error } = await call(middleware, `Bearer ${token}`, '/admin/api/clients');
      expect(reached).toBe(false);
      expect(error).toMatchObject({
        status: 403,
        code: 'machine_without_role',
        userMessage: expect.stringContaining('unified-id clients add --admin-role'),
      });
    }
  });
});

describe("a person's token", () => {
  it('reaches the role of the operator who signed in at mfa or cert, as operator:<account id>', async () => {
    for (const acr of [ACR.mfa, ACR.cert]) {
      const { reached, state } = await call(
        guard({ people: { [PERSON]: person({ extra: { acr } }) } }),
        `Bearer ${PERSON}`,
        '/admin/api/accounts',
      );
      expect(reached).toBe(true);
      expect(state).toEqual({ adminActor: 'operator:acc-sec', adminRole: 'security' });
    }
  });

  it.each([
    ['basic', ACR.basic],
    ['no acr', undefined],
    ['an acr that is not a string', 3],
    ['an unknown acr', 'urn:unified-id:acr:super'],
  ])('of a sign-in at %s is refused with 401 and asked to step up to mfa', async (_, acr) => {
    const { reached, error, headers } = await call(
      guard({ people: { [PERSON]: person({ extra: { acr } }) } }),
      `Bearer ${PERSON}`,
      '/admin/api/accounts',
    );
    expect(reached).toBe(false);
    expect(error).toMatchObject({
      status: 401,
      code: 'insufficient_user_authentication',
      userMessage: 'the admin API needs a sign-in with acr mfa or cert',
    });
    expect(headers['WWW-Authenticate']).toBe(
      `Bearer error="insufficient_user_authentication", acr_values="${ACR.mfa}"`,
    );
  });

  it('without any acr recorded is refused with 401, not an error', async () => {
    const { reached, error } = await call(
      guard({ people: { [PERSON]: { scope: 'openid admin', isExpired: false, accountId: 'acc-sec' } } }),
      `Bearer ${PERSON}`,
      '/admin/api/accounts',
    );
    expect(reached).toBe(false);
    expect(error).toMatchObject({ status: 401, code: 'insufficient_user_authentication' });
  });

  it('is refused when its account is not an operator, or the token names no account', async () => {
    const middleware = guard({
      people: { citizen: person({ accountId: 'acc-citizen' }), nobody: person({ accountId: undefined }) },
    });
    for (const token of ['citizen', 'nobody']) {
      const { reached, error } = await call(middleware, `Bearer ${token}`, '/admin/api/accounts');
      expect(reached).toBe(false);
      expect(error).toMatchObject({
        status: 403,
        code: 'not_an_operator',
        userMessage: 'this account is not an operator of the admin API',
      });
    }
  });

  it("is refused another role's part, and any part no role owns", async () => {
    const middleware = guard({ people: { [PERSON]: person() } });
    for (const path of ['/admin/api/clients', '/admin/api/stats', '/admin/api']) {
      const { reached, error, state } = await call(middleware, `Bearer ${PERSON}`, path);
      expect(reached).toBe(false);
      expect(error).toMatchObject({ status: 403, code: 'role_forbidden' });
      expect(state).toEqual({});
    }
  });

  it('is not taken for a machine token: a person of the system role is still asked for mfa', async () => {
    const { reached, error } = await call(
      guard({
        people: {
          [PERSON]: person({ accountId: 'acc-sys', clientId: 'cli-sys', extra: { acr: ACR.basic } }),
        },
      }),
      `Bearer ${PERSON}`,
      '/admin/api/clients',
    );
    expect(reached).toBe(false);
    expect(error).toMatchObject({ status: 401, code: 'insufficient_user_authentication' });
  });
});
