import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrl, createDevCa, type DevCa } from './dev-ca.js';
import { makeTempDir } from './test-support.js';
import { loadTrustStore, TrustStoreError } from './trust-store.js';

describe('the trust store in certs/', () => {
  let dir: { path: string; remove(): Promise<void> };
  let root: DevCa;
  let devRoot: DevCa;
  let intermediate: DevCa;

  beforeAll(async () => {
    dir = await makeTempDir();
    root = await createDevCa({ algorithm: 'ECDSA-P256', commonName: 'Provincial CA' });
    devRoot = await createDevCa({ algorithm: 'SM2', commonName: 'Dev CA' });
    intermediate = await createDevCa({ algorithm: 'ECDSA-P256', issuer: root });
    const times = {
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 86_400_000),
    };
    const certs = join(dir.path, 'certs');
    await mkdir(join(certs, 'intermediate'), { recursive: true });
    await mkdir(join(certs, 'crl'));
    await mkdir(join(certs, 'dev', 'crl'), { recursive: true });
    await writeFile(join(certs, 'provincial-ca.pem'), root.certificatePem);
    await writeFile(join(certs, 'README.md'), '# CA certificates, one per file\n');
    await writeFile(join(certs, 'intermediate', 'sub-ca.cer'), intermediate.certificateDer);
    await writeFile(join(certs, 'crl', 'provincial.crl'), createCrl(root, [], times).der);
    await writeFile(join(certs, 'crl', 'sub.pem'), createCrl(intermediate, ['01'], times).pem);
    await writeFile(join(certs, 'dev', 'dev-ca.pem'), devRoot.certificatePem);
    await writeFile(join(certs, 'dev', 'crl', 'dev.crl'), createCrl(devRoot, [], times).pem);
  });
  afterAll(() => dir.remove());

  it('loads anchors, intermediates and CRLs (PEM and DER), ignoring dev/ and other files', async () => {
    const store = await loadTrustStore({ dir: join(dir.path, 'certs') });
    expect(store.anchors.map((ca) => ca.subject)).toEqual([expect.stringContaining('CN=Provincial CA')]);
    expect(store.intermediates.map((ca) => ca.fingerprintSha256)).toHaveLength(1);
    expect(store.crls.map((crl) => crl.revokedSerials.size).sort()).toEqual([0, 1]);
  });

  it('adds the development CA from dev/ only when told to', async () => {
    const store = await loadTrustStore({ dir: join(dir.path, 'certs'), includeDev: true });
    expect(store.anchors.map((ca) => ca.keyAlgorithm).sort()).toEqual(['EC-P256', 'SM2']);
    expect(store.crls).toHaveLength(3);
  });

  it('refuses a file with more than one CA and a directory that does not exist', async () => {
    const crowded = join(dir.path, 'crowded');
    await mkdir(crowded);
    await writeFile(join(crowded, 'two.pem'), root.certificatePem + devRoot.certificatePem);
    await expect(loadTrustStore({ dir: crowded })).rejects.toThrow(TrustStoreError);
    await expect(loadTrustStore({ dir: join(dir.path, 'nowhere') })).rejects.toThrow(TrustStoreError);
  });

  it('refuses a file that is not a certificate', async () => {
    const broken = join(dir.path, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(loadTrustStore({ dir: broken })).rejects.toThrow(/ca\.pem/);
  });
});
