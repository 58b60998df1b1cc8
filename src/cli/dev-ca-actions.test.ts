import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SOFTHSM_MODULE, softHsmAvailable } from '../bridge/softhsm.js';
import { parseCertificate } from '../pki/certificate.js';
import { parseCrl } from '../pki/crl.js';
import { DEV_HARDWARE_POLICY_OID } from '../pki/dev-policy.js';
import { loadTrustStore } from '../pki/trust-store.js';
import {
  DevCaError,
  devCaDir,
  initDevCa,
  issueDevCertificate,
  parseDevAlgorithm,
  tryItLocally,
  writeDevCrl,
} from './dev-ca-actions.js';

const CREDIT_CODE = '91350100M000100Y43';

describe('unified-id dev-ca, as functions over a temporary certs directory', () => {
  const certs = mkdtempSync(path.join(tmpdir(), 'uid-devca-'));
  const dir = devCaDir(certs);

  beforeAll(async () => {
    await initDevCa({ dir, algorithm: 'RSA' });
    await initDevCa({ dir, algorithm: 'ECDSA-P256' });
  });

  it('writes the CA certificate and a private key only its owner reads, and refuses to overwrite', async () => {
    expect(existsSync(path.join(dir, 'dev-ca-rsa.pem'))).toBe(true);
    expect(statSync(path.join(dir, 'dev-ca-rsa.key')).mode & 0o077).toBe(0);
    const before = readFileSync(path.join(dir, 'dev-ca-rsa.pem'), 'utf8');
    await expect(initDevCa({ dir, algorithm: 'RSA' })).rejects.toBeInstanceOf(DevCaError);
    expect(readFileSync(path.join(dir, 'dev-ca-rsa.pem'), 'utf8')).toBe(before);
  });

  it('puts the CA where the trust store finds it when the development CA is allowed, and only then', async () => {
    const withDev = await loadTrustStore({ dir: certs, includeDev: true });
    expect(withDev.anchors.length).toBe(2);
    const without = await loadTrustStore({ dir: certs, includeDev: false });
    expect(without.anchors.length).toBe(0);
  });

  it('issues an enterprise certificate with the credit code in the subject serialNumber, as PKCS#12', async () => {
    const p12 = path.join(certs, 'company.p12');
    const issued = await issueDevCertificate({
      dir,
      creditCode: CREDIT_CODE,
      org: '某某有限公司',
      algorithm: 'ECDSA-P256',
      p12: { file: p12, password: 'secret-1' },
    });
    // Without --ca-algorithm, the CA of the certificate's own algorithm issues it.
    expect(issued.caAlgorithm).toBe('ECDSA-P256');
    const parsed = parseCertificate(readFileSync(issued.certificateFile, 'utf8'));
    expect(parsed.ok && parsed.certificate.creditCode).toBe(CREDIT_CODE);
    expect(parsed.ok && parsed.certificate.keyAlgorithm).toBe('EC-P256');
    // A key in a file is a software key: no hardware policy on its certificate.
    expect(parsed.ok && parsed.certificate.policies).toEqual([]);
    expect(readFileSync(p12).length).toBeGreaterThan(500);
    expect(
      tryItLocally(issued, {
        creditCode: CREDIT_CODE,
        issuer: 'http://localhost:3000',
        password: 'secret-1',
      }),
    ).toContain(p12);
  });

  it('refuses a credit code with a wrong check character, an unknown algorithm, and SM2 on SoftHSM2', async () => {
    await expect(
      issueDevCertificate({ dir, creditCode: '91350100M000100Y44', org: 'x', algorithm: 'RSA' }),
    ).rejects.toThrow(/校验位/);
    expect(() => parseDevAlgorithm('DSA')).toThrow(DevCaError);
    expect(parseDevAlgorithm('ecdsa-p384')).toBe('ECDSA-P384');
    await expect(
      issueDevCertificate({
        dir,
        creditCode: CREDIT_CODE,
        org: 'x',
        algorithm: 'SM2',
        softhsm: { tokenLabel: 't', pin: '123456', soPin: '12345678', dir: path.join(certs, 'hsm') },
      }),
    ).rejects.toThrow(/SM2/);
  });

  it('writes a CRL in certs/dev/crl/ that revokes the serial number given', async () => {
    const issued = await issueDevCertificate({ dir, creditCode: CREDIT_CODE, org: 'x', algorithm: 'RSA' });
    const written = writeDevCrl({ dir, caAlgorithm: 'RSA', revoke: [issued.serialNumberHex] });
    expect(path.dirname(written.file)).toBe(path.join(dir, 'crl'));
    const crl = parseCrl(readFileSync(written.file, 'utf8'));
    expect(crl.ok && crl.crl.revokedSerials.has(issued.serialNumberHex)).toBe(true);
    expect(() => writeDevCrl({ dir, caAlgorithm: 'ECDSA-P384', revoke: [] })).toThrow(DevCaError);
    expect(() => writeDevCrl({ dir, caAlgorithm: 'RSA', revoke: ['not-hex'] })).toThrow(DevCaError);
    // Issued leaf certificates (certs/dev/issued/) must never become trust anchors; the CRL is picked up.
    const store = await loadTrustStore({ dir: certs, includeDev: true });
    expect(store.anchors.length).toBe(2);
    expect(store.crls.length).toBe(1);
  });

  it.skipIf(!softHsmAvailable())(
    'imports certificate and key into a SoftHSM2 token it initialises, each issue under its own CKA_ID',
    async () => {
      const hsm = {
        tokenLabel: 'uid-dev-test',
        pin: '123456',
        soPin: '12345678',
        dir: path.join(certs, 'hsm'),
      };
      const first = await issueDevCertificate({
        dir,
        creditCode: CREDIT_CODE,
        org: '某某',
        algorithm: 'RSA',
        softhsm: hsm,
      });
      const second = await issueDevCertificate({
        dir,
        creditCode: CREDIT_CODE,
        org: '某某',
        algorithm: 'ECDSA-P384',
        softhsm: hsm,
      });
      expect(first.softhsm?.conf).toBe(path.join(certs, 'hsm', 'softhsm2.conf'));
      expect(first.softhsm?.id).not.toBe(second.softhsm?.id);
      // On the token: marked with the development hardware policy (amr hwk outside production).
      const onToken = parseCertificate(readFileSync(first.certificateFile, 'utf8'));
      expect(onToken.ok && onToken.certificate.policies).toEqual([DEV_HARDWARE_POLICY_OID]);
      // No private key is left in a file next to the token.
      expect(readdirNames(hsm.dir).filter((n) => n.endsWith('.pem'))).toEqual([]);

      const { Pkcs11Token } = await import('../bridge/token.js');
      const token = new Pkcs11Token(SOFTHSM_MODULE);
      try {
        expect(token.info().token).toBe('uid-dev-test');
        const listed = token.listCertificates();
        expect(listed.map((c) => c.id).sort()).toEqual([first.softhsm?.id, second.softhsm?.id].sort());
        expect(listed.find((c) => c.id === second.softhsm?.id)?.keyAlgorithm).toBe('EC-P384');
        expect(
          token.sign(first.softhsm!.id, hsm.pin, Buffer.from('x'), 'RSASSA-PKCS1-v1_5-SHA256').length,
        ).toBe(256);
      } finally {
        token.close();
      }
      await expect(
        issueDevCertificate({
          dir,
          creditCode: CREDIT_CODE,
          org: '某某',
          algorithm: 'RSA',
          softhsm: { ...hsm, id: first.softhsm!.id },
        }),
      ).rejects.toThrow(/already used/);
    },
  );
});

function readdirNames(dir: string): string[] {
  // Walks the token directory too: SoftHSM2 keeps objects in sub-directories.
  return readdirSync(dir, { recursive: true }).map(String);
}
