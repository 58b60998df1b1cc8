import { createSecureContext } from 'node:tls';
import * as pkijs from 'pkijs';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from './certificate.js';
import { createDevCa, issueEnterpriseCertificate, privateKeyToPem } from './dev-ca.js';
import { pemBlocks } from './encoding.js';
import { toPkcs12 } from './pkcs12.js';
import { DEV_ALGORITHMS, randomCreditCode } from './test-support.js';

describe('the development CA', () => {
  it.each(DEV_ALGORITHMS)('makes a %s CA that is a CA and signs its own certificate', async (algorithm) => {
    const ca = await createDevCa({ algorithm });
    const parsed = parseCertificate(ca.certificatePem);
    expect(parsed).toMatchObject({
      ok: true,
      certificate: { isCa: true, keyUsage: ['keyCertSign', 'cRLSign'] },
    });
    expect(pemBlocks(privateKeyToPem(ca.privateKey))[0]?.label).toBe('PRIVATE KEY');
  });

  it.each(['RSA', 'ECDSA-P256', 'ECDSA-P384'] as const)(
    'exports a %s certificate as a PKCS#12 that OpenSSL opens with the password only',
    async (algorithm) => {
      const ca = await createDevCa({ algorithm });
      const issued = await issueEnterpriseCertificate(ca, {
        algorithm,
        creditCode: randomCreditCode(),
        orgName: '漳州测试有限公司',
      });
      const pfx = Buffer.from(
        await toPkcs12(issued.certificateDer, issued.privateKey, [ca.certificateDer], '证书口令 123'),
      );
      expect(() => createSecureContext({ pfx, passphrase: '证书口令 123' })).not.toThrow();
      expect(() => createSecureContext({ pfx, passphrase: 'wrong' })).toThrow();
    },
  );

  it('exports an SM2 certificate as a PKCS#12 holding the key and both certificates', async () => {
    const ca = await createDevCa({ algorithm: 'SM2' });
    const issued = await issueEnterpriseCertificate(ca, {
      algorithm: 'SM2',
      creditCode: randomCreditCode(),
      orgName: '龙岩测试有限公司',
    });
    const password = new TextEncoder().encode('sm2-pass').buffer as ArrayBuffer;
    const pfx = pkijs.PFX.fromBER(
      await toPkcs12(issued.certificateDer, issued.privateKey, [ca.certificateDer], 'sm2-pass'),
    );
    await pfx.parseInternalValues({ password, checkIntegrity: true });
    const safe = pfx.parsedValue!.authenticatedSafe!;
    await safe.parseInternalValues({ safeContents: [{}, { password }] });
    const [keys, certificates] = safe.parsedValue.safeContents;
    expect(keys?.value.safeBags).toHaveLength(1);
    expect(certificates?.value.safeBags).toHaveLength(2);
  });
});
