import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from './certificate.js';
import { validateCertificate } from './chain.js';
import { extractCreditCode } from './credit-code-field.js';
import { createCrlSource } from './crl.js';
import {
  createDevCa,
  type DevCa,
  generateDevKeyPair,
  issueEnterpriseCertificate,
  type KeyPair,
} from './dev-ca.js';
import { randomCreditCode } from './test-support.js';
import { createTrustStore } from './trust-store.js';
import { buildName, extension, randomSerial, signCertificate, subjectNameOf } from './x509-builder.js';
import { ATTRIBUTE } from './x509-fields.js';

describe('reading a credit code out of a certificate field', () => {
  it('accepts the code bare, after NTRCN-, glued to a prefix, after a label, full-width or lower-case', () => {
    for (const text of [
      '91350100M000100Y43',
      'NTRCN-91350100M000100Y43',
      'NTRCN91350100M000100Y43',
      '统一社会信用代码:91350100M000100Y43',
      'USCC 91350100M000100Y43',
      '９１３５０１００Ｍ０００１００Ｙ４３',
      '91350100m000100y43',
    ]) {
      expect(extractCreditCode(text), text).toBe('91350100M000100Y43');
    }
  });

  it('refuses a wrong check character, an ID card number, and the short old codes', () => {
    for (const text of ['91350100M000100Y44', '11010519491231002X', 'M0001003-5', '350100400012345']) {
      expect(extractCreditCode(text), text).toBeUndefined();
    }
  });
});

describe('parsing a certificate', () => {
  let ca: DevCa;
  let key: KeyPair;

  beforeAll(async () => {
    key = await generateDevKeyPair('ECDSA-P256');
    ca = await createDevCa({ algorithm: 'ECDSA-P256', commonName: 'Test CA, "Fujian"' });
  });

  it('gives the same result for DER and PEM, with fingerprint, names and extensions', async () => {
    const creditCode = randomCreditCode();
    const notBefore = new Date('2025-01-01T00:00:00Z');
    const notAfter = new Date('2026-01-01T00:00:00Z');
    const issued = await issueEnterpriseCertificate(ca, {
      algorithm: 'ECDSA-P256',
      creditCode,
      orgName: '厦门测试有限公司',
      notBefore,
      notAfter,
      crlDistributionPoints: ['http://crl.example.cn/ca.crl'],
      key,
    });
    const fromDer = parseCertificate(issued.certificateDer);
    const fromPem = parseCertificate(`Bag Attributes: ignored\n${issued.certificatePem}`);
    expect(fromDer.ok && fromPem.ok).toBe(true);
    if (!fromDer.ok || !fromPem.ok) return;
    const certificate = fromDer.certificate;
    expect(fromPem.certificate.fingerprintSha256).toBe(certificate.fingerprintSha256);
    expect(certificate).toMatchObject({
      fingerprintSha256: createHash('sha256').update(issued.certificateDer).digest('hex'),
      subject: `C=CN, O=厦门测试有限公司, CN=厦门测试有限公司, serialNumber=${creditCode}`,
      issuer: 'C=CN, O=Unified ID Development, CN=Test CA\\, \\"Fujian\\"',
      serialNumberHex: issued.serialNumberHex,
      notBefore,
      notAfter,
      keyAlgorithm: 'EC-P256',
      keyUsage: ['digitalSignature', 'nonRepudiation'],
      crlDistributionPoints: ['http://crl.example.cn/ca.crl'],
      creditCode,
      isCa: false,
    });
  });

  it('refuses bytes that are not one certificate', () => {
    for (const input of [
      new Uint8Array(0),
      new Uint8Array([0x30, 0x00]),
      'no pem here',
      new Uint8Array([0x30, 0x03, 0x02, 0x01]),
    ]) {
      expect(parseCertificate(input)).toMatchObject({
        ok: false,
        reason: 'malformed',
        message: '证书格式不正确',
      });
    }
  });

  it('takes a missing keyUsage as unrestricted but refuses an unknown critical extension', async () => {
    const build = (extensions: ReturnType<typeof extension>[]) =>
      signCertificate(
        {
          serialNumber: randomSerial(),
          issuer: subjectNameOf(ca.certificateDer),
          subject: buildName([{ oid: ATTRIBUTE.organization, value: '测试' }]),
          notBefore: new Date(Date.now() - 3600_000),
          notAfter: new Date(Date.now() + 3600_000),
          publicKey: key.publicKey,
          extensions,
        },
        ca,
      );
    const context = {
      trustStore: createTrustStore({ anchors: [ca.certificateDer] }),
      crlSource: createCrlSource(),
    };

    const plain = build([]);
    const parsed = parseCertificate(plain);
    expect(parsed.ok && parsed.certificate.keyUsage).toBeUndefined();
    expect(await validateCertificate({ chain: [plain], ...context })).toMatchObject({ ok: true });

    const unknownCritical = build([extension('1.2.3.4.5', true, new asn1js.Utf8String({ value: 'x' }))]);
    expect(await validateCertificate({ chain: [unknownCritical], ...context })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});
