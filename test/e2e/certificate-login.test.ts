import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCrl,
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  type DevCa,
  type IssuedCertificate,
  issueEnterpriseCertificate,
  signAsHolder,
} from '../../src/pki/dev-ca.js';
import type { SignatureAlgorithm } from '../../src/pki/signature.js';
import { randomCreditCode } from '../../src/pki/test-support.js';
import { databaseKinds } from '../support/databases.js';
import {
  beginAuthorization,
  completeAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type PageResponse, UserAgent } from '../support/user-agent.js';

const CREDIT_CODE = '91350100M000100Y43';

interface Holder {
  issued: IssuedCertificate;
  algorithm: SignatureAlgorithm;
}

/**
 * The page script's part, done here as the bridge would: ask for a challenge, sign it with the
 * certificate's key, post chain + signature. Returns the JSON answer and status.
 */
async function proveWith(
  ua: UserAgent,
  page: PageResponse,
  action: 'login' | 'bind',
  holder: Holder,
  tamper: (p: { nonce: string; signature: string }) => void = () => {},
  /** What the page claims about where it signed: the server must not care. */
  source: 'bridge' | 'software' = 'bridge',
) {
  const endpoint = /data-endpoint="([^"]+)"/.exec(page.body)![1]!;
  const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
  const base = new URL(page.url).origin;
  const call = async (pathPart: string, body: unknown) => {
    const res = await ua.request(`${base}${endpoint}/${pathPart}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, string> };
  };
  const { json: challenge } = await call('challenge', { purpose: action });
  const signature = Buffer.from(
    signAsHolder(
      holder.issued.privateKey,
      holder.algorithm,
      new TextEncoder().encode(challenge['challenge']!),
    ),
  ).toString('base64');
  const proof = { nonce: challenge['nonce']!, signature };
  tamper(proof);
  const body = {
    ...proof,
    chain: [Buffer.from(holder.issued.certificateDer).toString('base64')],
    algorithm: holder.algorithm,
    source,
  };
  const first = await call(action, body);
  return { ...first, replay: () => call(action, body) };
}

describe.each(databaseKinds())('证书登录 and 绑定证书 (%s)', (kind) => {
  let server: TestServer;
  let site: RelyingParty;
  let ca: DevCa;
  let rsa: Holder;
  let ecdsa: Holder;
  let sm2: Holder;
  let revoked: Holder;
  let expired: Holder;
  let untrusted: Holder;
  let otherEnterprise: Holder;
  let enterpriseId: string;

  beforeAll(async () => {
    ca = await createDevCa({ algorithm: 'RSA' });
    const smCa = await createDevCa({ algorithm: 'SM2' });
    const strangerCa = await createDevCa({ algorithm: 'ECDSA-P256' });
    // Certificates on USB keys, marked so by their CA (here the development hardware policy).
    const issue = (issuer: DevCa, algorithm: IssuedCertificate['algorithm'], extra = {}) =>
      issueEnterpriseCertificate(issuer, {
        creditCode: CREDIT_CODE,
        orgName: '福州某某有限公司',
        algorithm,
        policies: [DEV_HARDWARE_POLICY_OID],
        ...extra,
      });
    rsa = { issued: await issue(ca, 'RSA'), algorithm: 'RSASSA-PKCS1-v1_5-SHA256' };
    ecdsa = { issued: await issue(ca, 'ECDSA-P256'), algorithm: 'ECDSA-P256-SHA256' };
    sm2 = { issued: await issue(smCa, 'SM2'), algorithm: 'SM2-SM3' };
    revoked = { issued: await issue(ca, 'ECDSA-P256'), algorithm: 'ECDSA-P256-SHA256' };
    expired = {
      issued: await issue(ca, 'ECDSA-P256', {
        notBefore: new Date(Date.now() - 3e10),
        notAfter: new Date(Date.now() - 1e9),
      }),
      algorithm: 'ECDSA-P256-SHA256',
    };
    untrusted = { issued: await issue(strangerCa, 'ECDSA-P256'), algorithm: 'ECDSA-P256-SHA256' };
    otherEnterprise = {
      issued: await issueEnterpriseCertificate(ca, {
        creditCode: randomCreditCode(),
        orgName: '别家公司',
        algorithm: 'ECDSA-P256',
      }),
      algorithm: 'ECDSA-P256-SHA256',
    };

    // certs/ as an operator lays it out: anchors, and a CRL revoking one certificate.
    const certs = mkdtempSync(path.join(tmpdir(), 'uid-certs-'));
    writeFileSync(path.join(certs, 'dev-rsa-ca.pem'), ca.certificatePem);
    writeFileSync(path.join(certs, 'dev-sm2-ca.pem'), smCa.certificatePem);
    mkdirSync(path.join(certs, 'crl'));
    const now = Date.now();
    writeFileSync(
      path.join(certs, 'crl', 'dev-rsa.crl'),
      createCrl(ca, [revoked.issued.serialNumberHex], {
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 86_400_000),
      }).pem,
    );
    writeFileSync(
      path.join(certs, 'crl', 'dev-sm2.crl'),
      createCrl(smCa, [], { thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86_400_000) }).pem,
    );
    server = await startTestServer({
      kind,
      env: { CERTS_DIR: certs, CERT_CREDIT_CODE_OIDS: '1.2.156.112562.2.1.1.1' },
    });
    site = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });

    // A verified representative and their enterprise (registration itself is tested elsewhere).
    const db = server.database.db;
    const representative = randomUUID();
    enterpriseId = randomUUID();
    await db('accounts').insert([
      { id: representative, user_type: 'natural_person', phone: '+8613911112222', certification_level: 'L2' },
      { id: enterpriseId, user_type: 'legal_person', phone: null, certification_level: 'L2' },
    ]);
    await db('legal_persons').insert({
      account_id: enterpriseId,
      credit_code: CREDIT_CODE,
      org_name: '福州某某有限公司',
      legal_type: 'enterprise',
      representative_account_id: representative,
      contact_phone: '+8613911112222',
    });
  });
  afterAll(() => server?.close());

  async function bindPage(ua: UserAgent) {
    const start = await beginAuthorization(ua, site, { scope: 'openid enterprise' });
    const uid = interactionUid(start.page);
    await server.services.flowStates.put('legal-register', uid, { accountId: enterpriseId });
    return { start, page: await ua.get(`${server.url}/interaction/${uid}/cert/bind`) };
  }

  async function loginPage(ua: UserAgent) {
    const start = await beginAuthorization(ua, site, { scope: 'openid enterprise' });
    const uid = interactionUid(start.page);
    return { start, page: await ua.get(`${server.url}/interaction/${uid}/cert/login`) };
  }

  it('binds a certificate after registration, raising the enterprise to L3 with acr cert', async () => {
    const ua = new UserAgent();
    const { start, page } = await bindPage(ua);
    expect(page.body).toContain('选择证书');
    expect(page.body).toContain('插入USB Key，安装并启动证书助手');
    const bound = await proveWith(ua, page, 'bind', rsa);
    expect(bound.status).toBe(200);
    const res = await ua.get(bound.json['redirectTo']!);
    const { tokens } = await completeAuthorization(ua, site, start, res);
    const claims = tokens!.claims()!;
    expect(claims['certification_level']).toBe('L3');
    expect(claims['user_type']).toBe('legal_person');
    expect(claims.acr).toBe('urn:unified-id:acr:cert');
    expect(claims.amr).toEqual(['hwk']);
  });

  it('signs in with a bound certificate; a replayed challenge fails', async () => {
    const ua = new UserAgent();
    const { start, page } = await loginPage(ua);
    const login = await proveWith(ua, page, 'login', rsa);
    expect(login.status).toBe(200);
    const replay = await login.replay();
    expect(replay.status).toBe(400);
    expect(replay.json['error_description']).toBe('签名请求已失效或已被使用，请重试');
    const { tokens } = await completeAuthorization(ua, site, start, await ua.get(login.json['redirectTo']!));
    expect(tokens!.claims()!.acr).toBe('urn:unified-id:acr:cert');
  });

  it('binds and signs in with ECDSA P-256 and SM2 certificates too', async () => {
    for (const holder of [ecdsa, sm2]) {
      const ua = new UserAgent();
      const { page } = await bindPage(ua);
      expect((await proveWith(ua, page, 'bind', holder)).status).toBe(200);
      const second = new UserAgent();
      const { page: login } = await loginPage(second);
      expect((await proveWith(second, login, 'login', holder)).status).toBe(200);
    }
  });

  it('takes hwk or swk from the certificate, never from the page: a file certificate posted as "bridge" gets swk', async () => {
    const file: Holder = {
      issued: await issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福州某某有限公司',
        algorithm: 'ECDSA-P256',
      }),
      algorithm: 'ECDSA-P256-SHA256',
    };
    const binder = new UserAgent();
    const { page: bind } = await bindPage(binder);
    expect((await proveWith(binder, bind, 'bind', file, undefined, 'bridge')).status).toBe(200);
    const ua = new UserAgent();
    const { start, page } = await loginPage(ua);
    const spoofed = await proveWith(ua, page, 'login', file, undefined, 'bridge');
    expect(spoofed.status).toBe(200);
    const { tokens } = await completeAuthorization(
      ua,
      site,
      start,
      await ua.get(spoofed.json['redirectTo']!),
    );
    expect(tokens!.claims()!.acr).toBe('urn:unified-id:acr:cert');
    expect(tokens!.claims()!.amr).toEqual(['swk']);
    // And a USB-key certificate posted as "software" is still hwk.
    const other = new UserAgent();
    const second = await loginPage(other);
    const modest = await proveWith(other, second.page, 'login', ecdsa, undefined, 'software');
    const again = await completeAuthorization(
      other,
      site,
      second.start,
      await other.get(modest.json['redirectTo']!),
    );
    expect(again.tokens!.claims()!.amr).toEqual(['hwk']);
    await server.services.certificates.unbind(
      enterpriseId,
      createHash('sha256').update(file.issued.certificateDer).digest('hex'),
    );
  });

  it('reads the credit code from a CA-specific extension named in the configuration', async () => {
    const holder: Holder = {
      issued: await issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福州某某有限公司',
        algorithm: 'ECDSA-P256',
        creditCodeIn: { extensionOid: '1.2.156.112562.2.1.1.1' },
      }),
      algorithm: 'ECDSA-P256-SHA256',
    };
    const ua = new UserAgent();
    const { page } = await bindPage(ua);
    expect((await proveWith(ua, page, 'bind', holder)).status).toBe(200);
    await server.services.certificates.unbind(
      enterpriseId,
      (await server.services.certificates.list(enterpriseId)).at(-1)!.fingerprint,
    );
  });

  it('refuses revoked, expired, untrusted, unbound and other enterprises’ certificates, and a wrong signature', async () => {
    const cases: [Holder, 'login' | 'bind', string][] = [
      [revoked, 'bind', '证书已被吊销'],
      [expired, 'bind', '证书已过期'],
      [untrusted, 'login', '证书不是由受信任的CA签发'],
      [otherEnterprise, 'bind', '证书中的统一社会信用代码与本账号不一致'],
      [
        otherEnterprise,
        'login',
        '该证书尚未绑定任何法人账号。请先使用统一社会信用代码登录，在“用户空间 → 认证等级 → CA认证”中绑定该证书',
      ],
    ];
    for (const [holder, action, message] of cases) {
      const ua = new UserAgent();
      const { page } = action === 'bind' ? await bindPage(ua) : await loginPage(ua);
      const res = await proveWith(ua, page, action, holder);
      expect(res.status).toBe(400);
      expect(res.json['error_description']).toBe(message);
    }
    const ua = new UserAgent();
    const { page } = await loginPage(ua);
    const forged = await proveWith(ua, page, 'login', rsa, (p) => {
      const bytes = Buffer.from(p.signature, 'base64');
      bytes[10] = (bytes[10] ?? 0) ^ 0xff;
      p.signature = bytes.toString('base64');
    });
    expect(forged.json['error_description']).toBe('签名验证失败');
    const bound = await server.database.db('bound_certificates').where({ account_id: enterpriseId });
    expect(bound).toHaveLength(3);
  });

  it('binds another certificate in 用户空间 after an SMS code to the representative, and unbinds one', async () => {
    const another: Holder = {
      issued: await issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福州某某有限公司',
        algorithm: 'ECDSA-P256',
      }),
      algorithm: 'ECDSA-P256-SHA256',
    };
    const ua = new UserAgent();
    // Signed in to the account space with a bound certificate.
    let page = await ua.follow(await ua.get(`${server.url}/account/certificates`));
    const uid = interactionUid(page);
    const login = await proveWith(
      ua,
      await ua.get(`${server.url}/interaction/${uid}/cert/login`),
      'login',
      rsa,
    );
    page = await ua.follow(await ua.get(login.json['redirectTo']!));
    expect(page.body).toContain('高级认证 · CA认证');
    expect(page.body.match(/解除绑定/g)).toHaveLength(3);

    const { submit, latestSmsCode } = await import('../support/citizen.js');
    const sent = await submit(ua, page, '/account/certificates/send-sms', {});
    expect(sent.body).toContain('139****2222');
    const bindPage = await submit(ua, sent, '/account/certificates/check-sms', {
      sms_code: (await latestSmsCode(server, '13911112222'))!,
    });
    // The verified step is a page of its own, with the menu and a way back: reloading keeps it.
    expect(bindPage.url).toBe(`${server.url}/account/certificates/bind`);
    const reloaded = await ua.get(bindPage.url);
    expect(reloaded.body).toContain('用户空间');
    expect(reloaded.body).toContain('返回CA认证');
    const bound = await proveWith(ua, reloaded, 'bind', another);
    expect(bound.json['redirectTo']).toBe('/account/certificates?bound=1');
    const listed = await ua.get(`${server.url}/account/certificates?bound=1`);
    expect(listed.body.match(/解除绑定/g)).toHaveLength(4);
    const fingerprint = /name="fingerprint" value="([0-9a-f]+)"/.exec(listed.body)![1]!;
    const after = await submit(ua, listed, '/account/certificates/unbind', { fingerprint });
    expect(after.body.match(/解除绑定/g)).toHaveLength(3);
  });

  it('drops back to L2 when the last certificate is unbound', async () => {
    const certificates = await server.services.certificates.list(enterpriseId);
    for (const c of certificates) await server.services.certificates.unbind(enterpriseId, c.fingerprint);
    const row = await server.database.db('accounts').where({ id: enterpriseId }).first();
    expect(row.certification_level).toBe('L2');
  });
});

describe.each(databaseKinds())('SOFTWARE_CERTIFICATES=false (%s)', (kind) => {
  let server: TestServer;
  let site: RelyingParty;
  let usbKey: Holder;
  let file: Holder;
  let enterpriseId: string;

  beforeAll(async () => {
    const ca = await createDevCa({ algorithm: 'ECDSA-P256' });
    const issue = (policies: string[]) =>
      issueEnterpriseCertificate(ca, {
        creditCode: CREDIT_CODE,
        orgName: '福州某某有限公司',
        algorithm: 'ECDSA-P256',
        policies,
      });
    usbKey = { issued: await issue([DEV_HARDWARE_POLICY_OID]), algorithm: 'ECDSA-P256-SHA256' };
    file = { issued: await issue([]), algorithm: 'ECDSA-P256-SHA256' };
    const certs = mkdtempSync(path.join(tmpdir(), 'uid-certs-'));
    writeFileSync(path.join(certs, 'dev-ecdsa-ca.pem'), ca.certificatePem);
    server = await startTestServer({ kind, env: { CERTS_DIR: certs, SOFTWARE_CERTIFICATES: 'false' } });
    site = await registerRelyingParty(server, { firstParty: true, scopes: ['openid', 'enterprise'] });
    const db = server.database.db;
    const representative = randomUUID();
    enterpriseId = randomUUID();
    await db('accounts').insert([
      { id: representative, user_type: 'natural_person', phone: '+8613911113333', certification_level: 'L2' },
      { id: enterpriseId, user_type: 'legal_person', phone: null, certification_level: 'L2' },
    ]);
    await db('legal_persons').insert({
      account_id: enterpriseId,
      credit_code: CREDIT_CODE,
      org_name: '福州某某有限公司',
      legal_type: 'enterprise',
      representative_account_id: representative,
      contact_phone: '+8613911113333',
    });
  });
  afterAll(() => server?.close());

  async function certPage(ua: UserAgent, action: 'login' | 'bind') {
    const start = await beginAuthorization(ua, site, { scope: 'openid enterprise' });
    const uid = interactionUid(start.page);
    if (action === 'bind')
      await server.services.flowStates.put('legal-register', uid, { accountId: enterpriseId });
    return { start, page: await ua.get(`${server.url}/interaction/${uid}/cert/${action}`) };
  }

  it('refuses a certificate file posted as if from the USB key, at binding and at login', async () => {
    const ua = new UserAgent();
    const { page } = await certPage(ua, 'bind');
    expect(page.body).not.toContain('证书文件（PKCS#12）');
    const spoofed = await proveWith(ua, page, 'bind', file, undefined, 'bridge');
    expect(spoofed.status).toBe(400);
    expect(spoofed.json['error']).toBe('certificate_not_hardware');
    expect(await server.database.db('bound_certificates').where({ account_id: enterpriseId })).toHaveLength(
      0,
    );

    // Bound earlier (say, before the setting changed): it still does not sign in.
    await server.database.db('bound_certificates').insert({
      fingerprint: createHash('sha256').update(file.issued.certificateDer).digest('hex'),
      account_id: enterpriseId,
      subject: 'file',
      issuer: 'dev',
      serial_hex: file.issued.serialNumberHex,
      key_algorithm: 'EC-P256',
      not_after: new Date(Date.now() + 86_400_000),
    });
    const other = new UserAgent();
    const login = await certPage(other, 'login');
    const refused = await proveWith(other, login.page, 'login', file, undefined, 'bridge');
    expect(refused.status).toBe(400);
    expect(refused.json['error']).toBe('certificate_not_hardware');
  });

  it('accepts the USB-key certificate with amr hwk', async () => {
    const ua = new UserAgent();
    const { start, page } = await certPage(ua, 'bind');
    const bound = await proveWith(ua, page, 'bind', usbKey);
    expect(bound.status).toBe(200);
    const { tokens } = await completeAuthorization(ua, site, start, await ua.get(bound.json['redirectTo']!));
    expect(tokens!.claims()!.amr).toEqual(['hwk']);
  });
});
