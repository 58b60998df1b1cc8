import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCertificate } from './certificate.js';
import { validateCertificate } from './chain.js';
import { buildChallenge, challengeExpiry, newNonce } from './challenge.js';
import { type CrlSource, createCrlSource } from './crl.js';
import {
  createCrl,
  createDevCa,
  type DevCa,
  generateDevKeyPair,
  type IssuedCertificate,
  issueEnterpriseCertificate,
  type KeyPair,
  signAsHolder,
} from './dev-ca.js';
import { verifySignature } from './signature.js';
import { verifySignedPart } from './signed-object.js';
import {
  type CrlServer,
  DEV_ALGORITHMS,
  MISFIT_ALGORITHM_FOR,
  makeTempDir,
  randomCreditCode,
  SIGNATURE_ALGORITHM_FOR,
  startCrlServer,
  tamper,
} from './test-support.js';
import { createTrustStore, loadTrustStore, type TrustStore } from './trust-store.js';

// The real signature check, counted: the work a chain sent by a client makes the server do.
vi.mock('./signed-object.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./signed-object.js')>();
  return { ...real, verifySignedPart: vi.fn(real.verifySignedPart) };
});

const HOUR = 3600_000;

/** A certificate as the validator reads it: its subject, serial, validity as the log line names them. */
function read(der: Uint8Array) {
  const parsed = parseCertificate(der, { fieldMap: {} });
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.certificate;
}
const DAY = 24 * HOUR;

let server: CrlServer;
const tempDirs: { remove(): Promise<void> }[] = [];

beforeAll(async () => {
  server = await startCrlServer();
});
afterAll(async () => {
  await server.close();
  await Promise.all(tempDirs.map((dir) => dir.remove()));
});

describe.each(DEV_ALGORITHMS)('an enterprise logging in with a %s certificate', (algorithm) => {
  const now = new Date();
  const orgName = '福建省统一身份测试有限公司';
  const creditCode = randomCreditCode();
  const crlPath = `/${algorithm}/ca.crl`;
  let ca: DevCa;
  let otherCa: DevCa;
  let leafKey: KeyPair;
  let intermediateKey: KeyPair;
  let store: TrustStore;
  let storeWithCrlFile: TrustStore;
  let crlSource: CrlSource;
  let good: IssuedCertificate;
  let revokedViaHttp: IssuedCertificate;
  let revokedViaFile: IssuedCertificate;

  const issue = (overrides: Partial<Parameters<typeof issueEnterpriseCertificate>[1]> = {}, issuer?: DevCa) =>
    issueEnterpriseCertificate(issuer ?? ca, {
      algorithm,
      creditCode,
      orgName,
      key: leafKey,
      crlDistributionPoints: [server.baseUrl + crlPath],
      ...overrides,
    });
  const validate = (chain: Uint8Array[], trustStore = store) =>
    validateCertificate({ chain, trustStore, now, crlSource });

  beforeAll(async () => {
    const [caKey, otherKey] = await Promise.all([
      generateDevKeyPair(algorithm),
      generateDevKeyPair(algorithm),
    ]);
    [leafKey, intermediateKey] = await Promise.all([
      generateDevKeyPair(algorithm),
      generateDevKeyPair(algorithm),
    ]);
    ca = await createDevCa({ algorithm, key: caKey });
    otherCa = await createDevCa({ algorithm, key: otherKey });
    good = await issue();
    revokedViaHttp = await issue();
    revokedViaFile = await issue({ crlDistributionPoints: [] });
    const crlTimes = {
      thisUpdate: new Date(now.getTime() - HOUR),
      nextUpdate: new Date(now.getTime() + DAY),
    };
    server.serve(crlPath, createCrl(ca, [revokedViaHttp.serialNumberHex], crlTimes).der);

    const dir = await makeTempDir();
    tempDirs.push(dir);
    await mkdir(join(dir.path, 'plain'));
    await writeFile(join(dir.path, 'plain', 'ca.pem'), ca.certificatePem);
    await mkdir(join(dir.path, 'with-crl', 'crl'), { recursive: true });
    await writeFile(join(dir.path, 'with-crl', 'ca.pem'), ca.certificatePem);
    await writeFile(
      join(dir.path, 'with-crl', 'crl', 'ca.crl'),
      createCrl(ca, [revokedViaFile.serialNumberHex], crlTimes).der,
    );
    store = await loadTrustStore({ dir: join(dir.path, 'plain') });
    storeWithCrlFile = await loadTrustStore({ dir: join(dir.path, 'with-crl') });
    crlSource = createCrlSource();
  });

  it('accepts a good certificate and its signature over the login challenge', async () => {
    const result = await validate([good.certificateDer]);
    expect(result).toMatchObject({ ok: true, certificate: { keyAlgorithm: expect.any(String), creditCode } });
    if (!result.ok) return;
    expect(result.path.map((link) => link.fingerprintSha256)).toHaveLength(2);

    const challenge = buildChallenge({
      issuer: 'https://id.fj.gov.cn',
      interactionId: 'interaction-1',
      nonce: newNonce(),
      expiresAt: challengeExpiry(now),
    });
    const algorithms = [
      SIGNATURE_ALGORITHM_FOR[algorithm],
      ...(algorithm === 'RSA' ? (['RSA-PSS-SHA256'] as const) : []),
    ];
    for (const signatureAlgorithm of algorithms) {
      const signature = signAsHolder(good.privateKey, signatureAlgorithm, challenge.bytes);
      const check = verifySignature({
        certificateDer: good.certificateDer,
        data: challenge.bytes,
        signature,
        algorithm: signatureAlgorithm,
      });
      expect(check, signatureAlgorithm).toMatchObject({ ok: true, algorithm: signatureAlgorithm });
    }
  });

  it('refuses an expired certificate', async () => {
    const expired = await issue({
      notBefore: new Date(now.getTime() - 400 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    const { subject, notAfter } = read(expired.certificateDer);
    expect(await validate([expired.certificateDer])).toEqual({
      ok: false,
      reason: 'expired',
      message: '证书已过期',
      detail: `${subject} expired at ${notAfter.toISOString()}`,
    });
  });

  it('refuses a certificate that is not valid yet', async () => {
    const early = await issue({
      notBefore: new Date(now.getTime() + DAY),
      notAfter: new Date(now.getTime() + 400 * DAY),
    });
    const { subject, notBefore } = read(early.certificateDer);
    expect(await validate([early.certificateDer])).toEqual({
      ok: false,
      reason: 'not_yet_valid',
      message: '证书尚未生效',
      detail: `${subject} valid from ${notBefore.toISOString()}`,
    });
  });

  it('takes a certificate at the very first and last millisecond of its validity', async () => {
    const brief = await issue({
      crlDistributionPoints: [],
      // Within the CA's own validity, which the path checks as well.
      notBefore: new Date(Math.floor(now.getTime() / 1000) * 1000 + HOUR),
      notAfter: new Date(Math.floor(now.getTime() / 1000) * 1000 + 2 * HOUR),
    });
    const { notBefore, notAfter } = read(brief.certificateDer);
    const at = (ms: number) =>
      validateCertificate({ chain: [brief.certificateDer], trustStore: store, now: new Date(ms), crlSource });
    expect(await at(notBefore.getTime())).toMatchObject({ ok: true });
    expect(await at(notAfter.getTime())).toMatchObject({ ok: true });
    expect(await at(notBefore.getTime() - 1)).toMatchObject({ ok: false, reason: 'not_yet_valid' });
    expect(await at(notAfter.getTime() + 1)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuses a certificate from a CA that is not in certs/', async () => {
    const stranger = await issue({}, otherCa);
    expect(await validate([stranger.certificateDer])).toEqual({
      ok: false,
      reason: 'untrusted',
      message: '证书不是由受信任的CA签发',
      detail: `no path from "${read(stranger.certificateDer).issuer}" to a trust anchor`,
    });
  });

  it('refuses a certificate that may not sign (keyEncipherment only)', async () => {
    const encryptionOnly = await issue({ keyUsage: ['keyEncipherment'] });
    expect(await validate([encryptionOnly.certificateDer])).toEqual({
      ok: false,
      reason: 'key_usage',
      message: '证书不允许数字签名',
      detail: 'keyUsage is keyEncipherment',
    });
    const twoUses = await issue({ keyUsage: ['keyEncipherment', 'dataEncipherment'] });
    expect(await validate([twoUses.certificateDer])).toMatchObject({
      detail: 'keyUsage is keyEncipherment, dataEncipherment',
    });
    // A keyUsage extension with no bit set (RFC 5280 4.2.1.3 forbids it) allows nothing.
    const noUse = await issue({ keyUsage: [] });
    expect(await validate([noUse.certificateDer])).toEqual({
      ok: false,
      reason: 'key_usage',
      message: '证书不允许数字签名',
      detail: 'keyUsage is empty',
    });
  });

  it('refuses a certificate revoked by a CRL file in certs/crl/', async () => {
    expect(await validate([good.certificateDer], storeWithCrlFile)).toMatchObject({ ok: true });
    const { subject, serialNumberHex } = read(revokedViaFile.certificateDer);
    expect(await validate([revokedViaFile.certificateDer], storeWithCrlFile)).toEqual({
      ok: false,
      reason: 'revoked',
      message: '证书已被吊销',
      detail: `${subject} serial ${serialNumberHex} is on the CRL of ${read(ca.certificateDer).subject}`,
    });
  });

  it('refuses a certificate revoked by the CRL at its distribution point', async () => {
    expect(await validate([revokedViaHttp.certificateDer])).toMatchObject({ ok: false, reason: 'revoked' });
    expect(server.requestCount(crlPath)).toBeGreaterThan(0);
  });

  it('refuses a certificate whose credit code was changed after signing', async () => {
    const forged = tamper(good.certificateDer, creditCode, randomCreditCode());
    expect(await validate([forged])).toEqual({
      ok: false,
      reason: 'bad_signature',
      message: '证书签名无效，证书可能已被篡改',
      detail: `signature of ${read(forged).subject} does not verify`,
    });
  });

  it('refuses a signature over another challenge or by another key', () => {
    const input = {
      issuer: 'https://id.fj.gov.cn',
      interactionId: 'interaction-2',
      nonce: newNonce(),
      expiresAt: challengeExpiry(now),
    };
    const challenge = buildChallenge(input);
    // Same interaction, fresh nonce: a replayed or stale signature.
    const other = buildChallenge({ ...input, nonce: newNonce() });
    const signatureAlgorithm = SIGNATURE_ALGORITHM_FOR[algorithm];
    for (const signature of [
      signAsHolder(good.privateKey, signatureAlgorithm, other.bytes),
      signAsHolder(otherCa.privateKey, signatureAlgorithm, challenge.bytes),
    ]) {
      const check = verifySignature({
        certificateDer: good.certificateDer,
        data: challenge.bytes,
        signature,
        algorithm: signatureAlgorithm,
      });
      expect(check).toMatchObject({ ok: false, reason: 'bad_signature', message: '签名验证失败' });
    }
  });

  it('refuses an algorithm that does not fit the key', () => {
    const data = new TextEncoder().encode('challenge');
    const signature = signAsHolder(good.privateKey, SIGNATURE_ALGORITHM_FOR[algorithm], data);
    const check = verifySignature({
      certificateDer: good.certificateDer,
      data,
      signature,
      algorithm: MISFIT_ALGORITHM_FOR[algorithm],
    });
    expect(check).toMatchObject({ ok: false, reason: 'algorithm_mismatch' });
  });

  it('refuses when the distribution point serves a CRL not signed by the issuing CA', async () => {
    const path = `/${algorithm}/forged.crl`;
    const impostor = { ...ca, privateKey: otherCa.privateKey, publicKey: otherCa.publicKey };
    server.serve(
      path,
      createCrl(impostor, [], {
        thisUpdate: new Date(now.getTime() - HOUR),
        nextUpdate: new Date(now.getTime() + DAY),
      }).der,
    );
    const certificate = await issue({ crlDistributionPoints: [server.baseUrl + path] });
    expect(await validate([certificate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'crl_unavailable',
      message: '暂时无法获取证书吊销列表，请稍后再试',
    });
  });

  it('refuses when the CRL can not be fetched', async () => {
    const certificate = await issue({
      crlDistributionPoints: [`${server.baseUrl}/${algorithm}/missing.crl`],
    });
    expect(await validate([certificate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'crl_unavailable',
      detail: expect.stringMatching(new RegExp(`^${literally(read(certificate.certificateDer).subject)}: .`)),
    });
  });

  it('reads the credit code from serialNumber, organizationIdentifier or a configured extension', async () => {
    const caOid = '1.2.156.112586.1.4';
    const placements = ['serialNumber', 'organizationIdentifier', { extensionOid: caOid }] as const;
    for (const creditCodeIn of placements) {
      const certificate = await issue({ creditCodeIn });
      const result = await validateCertificate({
        chain: [certificate.certificateDer],
        trustStore: store,
        now,
        crlSource,
        fieldMap: { [caOid]: 'creditCode' },
      });
      expect(result.ok && result.certificate.creditCode, JSON.stringify(creditCodeIn)).toBe(creditCode);
      if (typeof creditCodeIn === 'object') {
        const unmapped = await validate([certificate.certificateDer]);
        expect(unmapped.ok && unmapped.certificate.creditCode).toBeUndefined();
        // The map configured on a trust store built in memory applies as one loaded from certs/.
        const mappedStore = createTrustStore({
          anchors: [ca.certificateDer],
          fieldMap: { [caOid]: 'creditCode' },
        });
        const mapped = await validate([certificate.certificateDer], mappedStore);
        expect(mapped.ok && mapped.certificate.creditCode).toBe(creditCode);
      }
    }
  });

  it('follows an intermediate CA sent by the client or kept in certs/intermediate/', async () => {
    const intermediate = await createDevCa({ algorithm, issuer: ca, key: intermediateKey });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    expect(await validate([leaf.certificateDer])).toMatchObject({ ok: false, reason: 'untrusted' });
    const sent = await validate([leaf.certificateDer, intermediate.certificateDer]);
    expect(sent.ok && sent.path).toHaveLength(3);
    const kept = await validate([leaf.certificateDer], {
      ...store,
      intermediates: [...store.intermediates, ...(await loadIntermediate(intermediate))],
    });
    expect(kept).toMatchObject({ ok: true });
  });

  it('refuses a certificate changed after signing under an intermediate CA, the intermediate sent along', async () => {
    const intermediate = await createDevCa({ algorithm, issuer: ca, key: intermediateKey });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    const forged = tamper(leaf.certificateDer, creditCode, randomCreditCode());
    expect(await validate([forged, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('says when the CA certificate that issued it has expired, rather than the certificate', async () => {
    const intermediate = await createDevCa({
      algorithm,
      issuer: ca,
      key: intermediateKey,
      notBefore: new Date(now.getTime() - 2 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    expect(await validate([leaf.certificateDer, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'expired',
      message: '签发该证书的CA证书已过期',
    });
  });

  it('judges validity at the time it is asked about', async () => {
    const later = new Date(now.getTime() + 2 * 365 * DAY);
    expect(
      await validateCertificate({ chain: [good.certificateDer], trustStore: store, now: later, crlSource }),
    ).toMatchObject({ ok: false, reason: 'expired', message: '证书已过期' });
  });

  it('refuses a path through a CA whose path length allows no CA below it (RFC 5280 4.2.1.9)', async () => {
    const [upperKey, lowerKey] = await Promise.all([
      generateDevKeyPair(algorithm),
      generateDevKeyPair(algorithm),
    ]);
    const chainThrough = async (pathLength: number) => {
      const upper = await createDevCa({ algorithm, issuer: ca, key: upperKey, pathLength });
      const lower = await createDevCa({ algorithm, issuer: upper, key: lowerKey });
      const leaf = await issue({ crlDistributionPoints: [] }, lower);
      return validate([leaf.certificateDer, lower.certificateDer, upper.certificateDer]);
    };
    expect(await chainThrough(0)).toMatchObject({ ok: false, reason: 'untrusted' });
    expect(await chainThrough(1)).toMatchObject({ ok: true });
  });

  it('refuses a path through a CA certificate that may not sign certificates (no keyCertSign)', async () => {
    const intermediate = await createDevCa({
      algorithm,
      issuer: ca,
      key: intermediateKey,
      keyUsage: ['cRLSign'],
    });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    expect(await validate([leaf.certificateDer, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'untrusted',
    });
  });

  it('says when the CA certificate that issued it is revoked, rather than the certificate', async () => {
    const intermediateCrlPath = `/${algorithm}/revokes-intermediate.crl`;
    const intermediate = await createDevCa({
      algorithm,
      issuer: ca,
      key: intermediateKey,
      crlDistributionPoints: [server.baseUrl + intermediateCrlPath],
    });
    const parsed = parseCertificate(intermediate.certificateDer, { fieldMap: {} });
    if (!parsed.ok) throw new Error(parsed.detail);
    server.serve(
      intermediateCrlPath,
      createCrl(ca, [parsed.certificate.serialNumberHex], {
        thisUpdate: new Date(now.getTime() - HOUR),
        nextUpdate: new Date(now.getTime() + DAY),
      }).der,
    );
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    expect(await validate([leaf.certificateDer, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'revoked',
      message: '签发该证书的CA证书已被吊销',
    });
  });

  it('refuses a certificate, or a path through a CA, with a critical extension it does not understand (RFC 5280 4.2)', async () => {
    const unknown = '1.3.6.1.4.1.55555.1.1';
    const marked = await issue({
      crlDistributionPoints: [],
      criticalExtensionOids: [unknown, `${unknown}.2`],
    });
    expect(await validate([marked.certificateDer])).toEqual({
      ok: false,
      reason: 'malformed',
      message: '证书格式不正确',
      detail: `unknown critical extension ${unknown}, ${unknown}.2`,
    });
    const intermediate = await createDevCa({
      algorithm,
      issuer: ca,
      key: intermediateKey,
      criticalExtensionOids: [unknown],
    });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    expect(await validate([leaf.certificateDer, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'untrusted',
    });
  });

  it('refuses a path through an issuer that is no CA, whatever its key usage; a CA without keyUsage may issue', async () => {
    for (const keyUsage of [['keyCertSign', 'cRLSign'] as const, null]) {
      const notCa = await createDevCa({
        algorithm,
        issuer: ca,
        key: intermediateKey,
        isCa: false,
        keyUsage: keyUsage && [...keyUsage],
      });
      const leaf = await issue({ crlDistributionPoints: [] }, notCa);
      expect(await validate([leaf.certificateDer, notCa.certificateDer])).toMatchObject({
        ok: false,
        reason: 'untrusted',
      });
    }
    const unrestricted = await createDevCa({ algorithm, issuer: ca, key: intermediateKey, keyUsage: null });
    const leaf = await issue({ crlDistributionPoints: [] }, unrestricted);
    expect(await validate([leaf.certificateDer, unrestricted.certificateDer])).toMatchObject({ ok: true });
  });

  it('builds no path longer than leaf, four CAs between, and anchor', async () => {
    // A ladder of CAs under the anchor, each signed by the one above (one key: key generation is slow).
    const ladder: DevCa[] = [];
    for (let i = 0; i < 5; i++)
      ladder.push(await createDevCa({ algorithm, issuer: ladder.at(-1) ?? ca, key: intermediateKey }));
    const under = async (depth: number) => {
      const leaf = await issue({ crlDistributionPoints: [] }, ladder[depth - 1]);
      return validate([leaf.certificateDer, ...ladder.slice(0, depth).map((c) => c.certificateDer)]);
    };
    expect(await under(4)).toMatchObject({ ok: true });
    expect(await under(5)).toMatchObject({ ok: false, reason: 'untrusted' });
  });

  it('checks each CA sent along once per path: copies of a self-signed CA do not multiply the work', async () => {
    // A root of the client's own, which verifies itself, sent seven times: a path that took a
    // certificate it already holds would go round it to the depth limit, 7 + 7² + 7³ + 7⁴ checks.
    const stranger = await issue({ crlDistributionPoints: [] }, otherCa);
    const checks = vi.mocked(verifySignedPart);
    checks.mockClear();
    const result = await validate([
      stranger.certificateDer,
      ...Array.from({ length: 7 }, () => otherCa.certificateDer),
    ]);
    expect(result).toMatchObject({ ok: false, reason: 'untrusted' });
    // The leaf under each copy, and no copy under another.
    expect(checks).toHaveBeenCalledTimes(7);
  });

  it('makes at most 32 signature checks for a pile of CAs of one name and one key made by the client', async () => {
    // Seven different self-signed CAs that each verify the others: without a bound, the search
    // tries every ordering of them up to the depth limit (7 + 7·6 + 7·6·5 + 7·6·5·4 checks).
    const commonName = `Unified ID Dev Look-alike ${algorithm}`;
    const lookAlikes: DevCa[] = [];
    for (let i = 0; i < 7; i++)
      lookAlikes.push(await createDevCa({ algorithm, key: intermediateKey, commonName }));
    const leaf = await issue({ crlDistributionPoints: [] }, lookAlikes[0]);
    const checks = vi.mocked(verifySignedPart);
    checks.mockClear();
    const chain = [leaf.certificateDer, ...lookAlikes.map((c) => c.certificateDer)];
    expect(await validate(chain)).toMatchObject({ ok: false, reason: 'untrusted' });
    expect(checks).toHaveBeenCalledTimes(32);
    // With two trust anchors of that name too (another key): their checks count as well (with
    // two, the 32nd check is an anchor's).
    const namesakes = [
      await createDevCa({ algorithm, key: leafKey, commonName }),
      await createDevCa({ algorithm, key: leafKey, commonName }),
    ];
    checks.mockClear();
    const anchors = namesakes.map((c) => c.certificateDer);
    expect(await validate(chain, createTrustStore({ anchors }))).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(checks).toHaveBeenCalledTimes(32);
  });

  it('tries the next CA of the same name when the first leads to no anchor', async () => {
    // Two CA certificates of one name and key: one under a CA that is not trusted, one under the anchor.
    const commonName = `Unified ID Dev Twin ${algorithm}`;
    const astray = await createDevCa({ algorithm, issuer: otherCa, key: intermediateKey, commonName });
    const trusted = await createDevCa({ algorithm, issuer: ca, key: intermediateKey, commonName });
    const leaf = await issue({ crlDistributionPoints: [] }, trusted);
    const result = await validate([leaf.certificateDer, astray.certificateDer, trusted.certificateDer]);
    expect(result.ok && result.path[1]!.fingerprintSha256).toBe(
      (() => {
        const parsed = parseCertificate(trusted.certificateDer, { fieldMap: {} });
        return parsed.ok ? parsed.certificate.fingerprintSha256 : undefined;
      })(),
    );
  });

  it('refuses an empty chain, a chain of more than eight certificates, and bytes that are no certificate', async () => {
    expect(await validate([])).toEqual({
      ok: false,
      reason: 'malformed',
      message: '证书格式不正确',
      detail: 'chain of 0 certificates',
    });
    const intermediate = await createDevCa({ algorithm, issuer: ca, key: intermediateKey });
    const leaf = await issue({ crlDistributionPoints: [] }, intermediate);
    const eight = [leaf.certificateDer, ...Array.from({ length: 7 }, () => intermediate.certificateDer)];
    expect(await validate(eight)).toMatchObject({ ok: true });
    expect(await validate([...eight, intermediate.certificateDer])).toMatchObject({
      ok: false,
      reason: 'malformed',
      detail: 'chain of 9 certificates',
    });
    expect(
      await validate([leaf.certificateDer, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])]),
    ).toMatchObject({
      ok: false,
      reason: 'malformed',
      detail: expect.stringMatching(/^chain\[1\]: ./),
    });
  });
});

/** `text` matched literally in a regular expression. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function loadIntermediate(intermediate: DevCa) {
  const dir = await makeTempDir();
  tempDirs.push(dir);
  await mkdir(join(dir.path, 'intermediate'));
  await writeFile(join(dir.path, 'intermediate', 'sub.pem'), intermediate.certificatePem);
  return (await loadTrustStore({ dir: dir.path })).intermediates;
}
