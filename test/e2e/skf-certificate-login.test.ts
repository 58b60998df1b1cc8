import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge } from '../../src/bridge/bridge-server.js';
import { SkfToken } from '../../src/bridge/skf-token.js';
import type { TokenCertificate } from '../../src/bridge/token.js';
import {
  createCrl,
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  issueEnterpriseCertificate,
} from '../../src/pki/dev-ca.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { addCitizen, latestSmsCode, randomIdNumber, solveCaptcha, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { gccAvailable, prepareSoftSkf, type SoftSkfToken, softSkfLibrary } from '../support/skf-soft.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

// An enterprise whose USB key holds an SM2 certificate, reached through the key's SKF library
// (here the software token of test/fixtures/skf-token), by the 证书助手 over HTTP and the
// provider's certificate pages: what the page script does, step by step.

const PASSWORD = 'Fa-Ren#2024';
const PIN = '314159';
const ORG_NAME = '福建国密示范有限公司';

describe.skipIf(!gccAvailable()).each(databaseKinds())(
  'an SM2 enterprise through the 证书助手 and an SKF USB key (%s)',
  (kind) => {
    let server: TestServer;
    let site: RelyingParty;
    let token: SkfToken;
    let soft: SoftSkfToken;
    let helper: Awaited<ReturnType<typeof startBridge>>;
    let origin: string;
    const creditCode = randomCreditCode();

    beforeAll(async () => {
      const ca = await createDevCa({ algorithm: 'SM2' });
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode,
        orgName: ORG_NAME,
        algorithm: 'SM2',
        // A USB-key certificate, marked so by its CA (here the development hardware policy).
        policies: [DEV_HARDWARE_POLICY_OID],
      });
      soft = prepareSoftSkf({
        pin: PIN,
        maxTries: 3,
        containers: [
          { name: 'SignContainer', privateKey: issued.privateKey, certificateDer: issued.certificateDer },
        ],
      });
      const certs = mkdtempSync(path.join(tmpdir(), 'uid-certs-'));
      writeFileSync(path.join(certs, 'dev-sm2-ca.pem'), ca.certificatePem);
      mkdirSync(path.join(certs, 'crl'));
      const now = Date.now();
      writeFileSync(
        path.join(certs, 'crl', 'dev-sm2.crl'),
        createCrl(ca, [], { thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86_400_000) }).pem,
      );
      server = await startTestServer({ kind, env: { CERTS_DIR: certs } });
      site = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
      origin = new URL(server.issuer).origin;
      token = new SkfToken(softSkfLibrary());
      helper = await startBridge({ token, origins: [origin], port: 0 });
    });
    afterAll(async () => {
      await helper?.close();
      token?.close();
      await server?.close();
    });

    /** A call to the 证书助手 as the provider's page makes it. */
    const callHelper = async (where: string, body?: unknown) => {
      const res = await fetch(`${helper.url}${where}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { origin, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    /**
     * What cert.js does on 绑定证书 / 证书登录: list the key's certificates through the helper, ask the
     * provider for a challenge, have the helper sign it after the PIN, post chain and signature.
     */
    async function proveThroughHelper(
      ua: UserAgent,
      page: PageResponse,
      action: 'login' | 'bind',
      pin: string,
    ) {
      const endpoint = /data-endpoint="([^"]+)"/.exec(page.body)![1]!;
      const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
      const provider = async (where: string, body: unknown) => {
        const res = await ua.request(`${server.url}${endpoint}/${where}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: JSON.parse(res.body) as Record<string, string> };
      };
      const listed = (await callHelper('/v1/certificates')).json as unknown as TokenCertificate[];
      const chosen = listed.find((c) => c.holderName === ORG_NAME)!;
      expect(chosen.keyAlgorithm).toBe('SM2');
      const { json: challenge } = await provider('challenge', { purpose: action });
      const signed = await callHelper('/v1/sign', {
        id: chosen.id,
        pin,
        data: Buffer.from(challenge['challenge']!).toString('base64'),
        algorithm: 'SM2-SM3',
      });
      if (signed.status !== 200) return { helper: signed };
      const proven = await provider(action, {
        nonce: challenge['nonce'],
        signature: signed.json['signature'],
        chain: [chosen.certificate],
        algorithm: 'SM2-SM3',
        source: 'bridge',
      });
      return { helper: signed, provider: proven };
    }

    async function certificateLoginPage(ua: UserAgent) {
      const start = await beginAuthorization(ua, site, { scope: 'openid enterprise' });
      return {
        start,
        page: await ua.get(`${server.url}/interaction/${interactionUid(start.page)}/cert/login`),
      };
    }

    it('registers, binds the SM2 certificate from the USB key and signs in with it: L3 by a hardware key', async () => {
      // 法人注册 through the pages, confirmed by the representative's SMS code.
      const representative = { name: '林则徐', idNumber: randomIdNumber('19700101') };
      const { phone } = await addCitizen(server, PASSWORD, {
        realName: representative.name,
        idNumber: representative.idNumber,
      });
      const ua = new UserAgent();
      const start = await beginAuthorization(ua, site, { scope: 'openid enterprise' });
      const form = await ua.get(`${server.url}/interaction/${interactionUid(start.page)}/register/legal`);
      const sent = await submit(ua, form, '/register/legal', {
        phone,
        captcha: await solveCaptcha(ua, server, form),
        action: 'send_sms',
      });
      const confirm = await submit(ua, sent, '/register/legal', {
        legal_type: 'enterprise',
        org_name: ORG_NAME,
        credit_code: creditCode,
        representative_name: representative.name,
        representative_id_number: representative.idNumber,
        phone,
        password: PASSWORD,
        password_confirm: PASSWORD,
        agree: 'yes',
        action: 'register',
        sms_code: (await latestSmsCode(server, phone))!,
      });
      const bindPage = await submit(ua, confirm, '/register/legal/confirm', {
        sms_code: (await latestSmsCode(server, phone))!,
        action: 'confirm',
      });
      expect(bindPage.body).toContain('绑定证书');

      const bound = await proveThroughHelper(ua, bindPage, 'bind', PIN);
      expect(bound.helper.status).toBe(200);
      expect(bound.provider?.status).toBe(200);
      const registered = await completeAuthorization(
        ua,
        site,
        start,
        await ua.get(bound.provider!.json['redirectTo']!),
      );
      expect(registered.tokens!.claims()!['certification_level']).toBe('L3');

      const later = new UserAgent();
      const login = await certificateLoginPage(later);
      const signedIn = await proveThroughHelper(later, login.page, 'login', PIN);
      expect(signedIn.provider?.status).toBe(200);
      const { tokens } = await completeAuthorization(
        later,
        site,
        login.start,
        await later.get(signedIn.provider!.json['redirectTo']!),
      );
      const claims = tokens!.claims()!;
      expect(claims['user_type']).toBe('legal_person');
      expect(claims['uscc']).toBe(creditCode);
      expect(claims.acr).toBe('urn:unified-id:acr:cert');
      expect(claims.amr).toEqual(['hwk']);
    });

    it('answers a wrong PIN with the tries left and signs nothing; the right PIN then signs in', async () => {
      const ua = new UserAgent();
      const { start, page } = await certificateLoginPage(ua);
      const wrong = await proveThroughHelper(ua, page, 'login', '000000');
      expect(wrong.helper).toEqual({ status: 401, json: { error: 'pin_incorrect', triesLeft: 2 } });
      expect(wrong.provider).toBeUndefined();
      expect(soft.triesLeft()).toBe(2);

      const right = await proveThroughHelper(ua, page, 'login', PIN);
      expect(right.provider?.status).toBe(200);
      await completeAuthorization(ua, site, start, await ua.get(right.provider!.json['redirectTo']!));
      expect(soft.triesLeft()).toBe(3);
    });

    it('reports a key locked by wrong PINs as locked, the right PIN included, and signs nobody in', async () => {
      const ua = new UserAgent();
      const { page } = await certificateLoginPage(ua);
      expect((await proveThroughHelper(ua, page, 'login', '111111')).helper.json).toEqual({
        error: 'pin_incorrect',
        triesLeft: 2,
      });
      expect((await proveThroughHelper(ua, page, 'login', '222222')).helper.json).toEqual({
        error: 'pin_incorrect',
        triesLeft: 1,
      });
      // The wrong PIN that spends the last try locks the key.
      const locking = await proveThroughHelper(ua, page, 'login', '333333');
      expect(locking.helper).toEqual({ status: 423, json: { error: 'pin_locked' } });
      const rightButLocked = await proveThroughHelper(ua, page, 'login', PIN);
      expect(rightButLocked.helper).toEqual({ status: 423, json: { error: 'pin_locked' } });
      expect(rightButLocked.provider).toBeUndefined();
      expect(soft.triesLeft()).toBe(0);
    });
  },
);
