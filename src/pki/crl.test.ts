import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from './certificate.js';
import { validateCertificate } from './chain.js';
import { createCrlSource, type FetchLike, parseCrl } from './crl.js';
import {
  createCrl,
  createDevCa,
  type DevCa,
  generateDevKeyPair,
  issueEnterpriseCertificate,
  type KeyPair,
} from './dev-ca.js';
import { type CrlServer, randomCreditCode, startCrlServer } from './test-support.js';
import { createTrustStore, type TrustStore } from './trust-store.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('certificate revocation lists', () => {
  const now = new Date();
  let server: CrlServer;
  let ca: DevCa;
  let leafKey: KeyPair;
  let store: TrustStore;

  const issue = (crlDistributionPoints: string[], issuer = ca) =>
    issueEnterpriseCertificate(issuer, {
      algorithm: 'ECDSA-P256',
      creditCode: randomCreditCode(),
      orgName: '泉州测试有限公司',
      crlDistributionPoints,
      key: leafKey,
    });
  const window = (from: number, to: number) => ({
    thisUpdate: new Date(now.getTime() + from),
    nextUpdate: new Date(now.getTime() + to),
  });

  beforeAll(async () => {
    server = await startCrlServer();
    leafKey = await generateDevKeyPair('ECDSA-P256');
    ca = await createDevCa({ algorithm: 'ECDSA-P256' });
    store = createTrustStore({ anchors: [ca.certificatePem] });
  });
  afterAll(() => server.close());

  it('reads PEM and DER CRLs with their revoked serials and update times', () => {
    const crl = createCrl(ca, ['0a1b', '7f00ff'], window(-HOUR, DAY));
    for (const input of [crl.der, crl.pem]) {
      const parsed = parseCrl(input);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      expect([...parsed.crl.revokedSerials]).toEqual(['0a1b', '7f00ff']);
      expect(parsed.crl.nextUpdate?.getTime()).toBe(Math.floor((now.getTime() + DAY) / 1000) * 1000);
    }
  });

  it('fetches a distribution point once and serves it from the cache until nextUpdate', async () => {
    const path = '/cache/ca.crl';
    server.serve(path, createCrl(ca, [], window(-HOUR, HOUR)).der);
    const certificate = await issue([server.baseUrl + path]);
    const crlSource = createCrlSource();
    const validate = (at: Date) =>
      validateCertificate({ chain: [certificate.certificateDer], trustStore: store, now: at, crlSource });

    expect(await validate(now)).toMatchObject({ ok: true });
    expect(await validate(new Date(now.getTime() + 30 * 60_000))).toMatchObject({ ok: true });
    expect(server.requestCount(path)).toBe(1);

    // Past nextUpdate the cached copy is stale; the server still has the same old CRL.
    expect(await validate(new Date(now.getTime() + 2 * HOUR))).toMatchObject({
      ok: false,
      reason: 'crl_unavailable',
    });
    expect(server.requestCount(path)).toBe(2);
  });

  it('uses the injected fetch function', async () => {
    const crl = createCrl(ca, [], window(-HOUR, DAY));
    const urls: string[] = [];
    const fetch: FetchLike = async (url) => {
      urls.push(url);
      return { ok: true, status: 200, arrayBuffer: async () => crl.der.slice().buffer };
    };
    const certificate = await issue(['http://crl.ca.example.cn/dev.crl']);
    const result = await validateCertificate({
      chain: [certificate.certificateDer],
      trustStore: store,
      now,
      crlSource: createCrlSource({ fetch }),
    });
    expect(result).toMatchObject({ ok: true });
    expect(urls).toEqual(['http://crl.ca.example.cn/dev.crl']);
  });

  it('refuses when the only CRL file for the issuer is out of date and there is no distribution point', async () => {
    const stale = createCrl(ca, [], window(-2 * DAY, -DAY));
    const withStaleFile = createTrustStore({ anchors: [ca.certificateDer], crls: [stale.der] });
    const certificate = await issue([]);
    expect(
      await validateCertificate({
        chain: [certificate.certificateDer],
        trustStore: withStaleFile,
        now,
        crlSource: createCrlSource(),
      }),
    ).toMatchObject({ ok: false, reason: 'crl_unavailable' });
  });

  it('accepts a certificate when neither a distribution point nor a CRL file exists for its issuer', async () => {
    const certificate = await issue([]);
    expect(
      await validateCertificate({
        chain: [certificate.certificateDer],
        trustStore: store,
        now,
        crlSource: createCrlSource(),
      }),
    ).toMatchObject({ ok: true });
  });

  it('refuses a certificate whose intermediate CA was revoked by the root', async () => {
    const intermediate = await createDevCa({ algorithm: 'ECDSA-P256', issuer: ca });
    const crl = createCrl(ca, [parseSerial(intermediate.certificateDer)], window(-HOUR, DAY));
    const trustStore = createTrustStore({
      anchors: [ca.certificateDer],
      intermediates: [intermediate.certificateDer],
      crls: [crl.pem],
    });
    const certificate = await issue([], intermediate);
    expect(
      await validateCertificate({
        chain: [certificate.certificateDer],
        trustStore,
        now,
        crlSource: createCrlSource(),
      }),
    ).toMatchObject({ ok: false, reason: 'revoked', message: '签发该证书的CA证书已被吊销' });
  });
});

function parseSerial(der: Uint8Array): string {
  const parsed = parseCertificate(der);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.certificate.serialNumberHex;
}
