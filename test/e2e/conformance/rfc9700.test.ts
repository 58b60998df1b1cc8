import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCitizen } from '../../support/citizen.js';
import {
  introspect,
  type Person,
  registerSite,
  revoke,
  type Site,
  signIn,
  userinfo,
} from '../../support/conformance.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestServer, type TestServer } from '../../support/server.js';

describe.each(databaseKinds())(
  'OAuth 2.0 Security BCP (RFC 9700), introspection and revocation (%s)',
  (kind) => {
    let server: TestServer;
    let person: Person;
    let site: Site;
    let other: Site;

    beforeAll(async () => {
      server = await startTestServer({ kind });
      const password = 'Conf-9700#2024';
      person = { login: (await addCitizen(server, password)).phone, password };
      site = await registerSite(server, {
        firstParty: true,
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      });
      other = await registerSite(server, {
        firstParty: true,
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      });
    });
    afterAll(() => server?.close());

    for (const hint of [undefined, 'access_token']) {
      it(`RFC 7009 §2.1: a revoked user access token is dead at userinfo (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, { person, params: { scope: 'openid profile' } });
        expect((await userinfo(server, tokens.access_token)).status).toBe(200);
        expect((await revoke(server, site, tokens.access_token, hint)).status).toBe(200);
        expect((await userinfo(server, tokens.access_token)).status).toBe(401);
        expect((await introspect(server, site, tokens.access_token)).json).toEqual({ active: false });
      });
    }

    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      it(`RFC 7662 §2.2: a valid user access token introspects as active (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, { person, params: { scope: 'openid profile' } });
        const answer = await introspect(server, site, tokens.access_token, hint);
        expect(answer.status).toBe(200);
        expect(answer.json).toMatchObject({
          active: true,
          client_id: site.clientId,
          token_type: 'Bearer',
          scope: 'openid profile',
          iss: server.issuer,
        });
        expect(typeof answer.json['sub']).toBe('string');
        expect(answer.json['exp']).toBeGreaterThan(Date.now() / 1000);
      });
    }

    for (const hint of [undefined, 'refresh_token', 'access_token']) {
      it(`RFC 7662 §2.2: the site's own refresh token introspects as active (token_type_hint ${hint ?? 'absent'})`, async () => {
        const { tokens } = await signIn(server, site, {
          person,
          params: { scope: 'openid offline_access', prompt: 'consent' },
        });
        expect(tokens.refresh_token).toBeTruthy();
        const answer = await introspect(server, site, tokens.refresh_token!, hint);
        expect(answer.json).toMatchObject({ active: true, client_id: site.clientId });
        expect(answer.json['token_type']).toBeUndefined();
      });
    }
  },
);
