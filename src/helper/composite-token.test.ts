import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gccAvailable, prepareSoftSkf, softSkfLibrary } from '../../test/support/skf-soft.js';
import { importIntoSoftHsm, prepareSoftHsm, SOFTHSM_MODULE, softHsmAvailable } from '../bridge/softhsm.js';
import { type BridgeToken, KeyNotFound, type TokenCertificate } from '../bridge/token.js';
import { createDevCa, type IssuedCertificate, issueEnterpriseCertificate } from '../pki/dev-ca.js';
import { verifySignature } from '../pki/signature.js';
import { runHelper } from './cli.js';
import { CompositeToken } from './composite-token.js';
import { configPlaces, readHelperFile } from './config.js';
import { examineLibrary, type FoundLibrary } from './discover.js';
import { DiscoveredSources } from './token-sources.js';

const HSM = { label: 'uid-composite', pin: '123456', soPin: '12345678' };
const SKF_PIN = '12345678';

describe.skipIf(!softHsmAvailable() || !gccAvailable())(
  'one BridgeToken over a PKCS#11 and an SKF key',
  () => {
    let composite: CompositeToken;
    let rsa: IssuedCertificate;
    let sm2: IssuedCertificate;

    beforeAll(async () => {
      const ca = await createDevCa({ algorithm: 'RSA' });
      const issue = (algorithm: 'RSA' | 'SM2') =>
        issueEnterpriseCertificate(ca, { creditCode: '91350100M000100Y43', orgName: '测试公司', algorithm });
      rsa = await issue('RSA');
      sm2 = await issue('SM2');
      prepareSoftHsm(mkdtempSync(path.join(tmpdir(), 'uid-composite-hsm-')), HSM);
      importIntoSoftHsm(HSM, {
        id: '01',
        label: 'rsa',
        privateKey: rsa.privateKey,
        certificateDer: rsa.certificateDer,
      });
      prepareSoftSkf({
        pin: SKF_PIN,
        containers: [{ name: 'sign', privateKey: sm2.privateKey, certificateDer: sm2.certificateDer }],
      });
      const libraries = [SOFTHSM_MODULE, softSkfLibrary()].map(
        (file) => examineLibrary(file, 'named by the test', { named: true }) as FoundLibrary,
      );
      composite = new CompositeToken(new DiscoveredSources(() => libraries));
    });
    afterAll(() => composite?.close());

    const listed = () => {
      const list = composite.listCertificates();
      const byAlgorithm = (a: string) => list.find((c) => c.keyAlgorithm === a)!;
      return { list, rsaId: byAlgorithm('RSA').id, sm2Id: byAlgorithm('SM2').id };
    };

    it('lists the certificates of both, each id prefixed by its token', () => {
      const { list, rsaId, sm2Id } = listed();
      expect(list).toHaveLength(2);
      expect(rsaId).toMatch(/^[0-9a-f]{8}01$/);
      expect(sm2Id.slice(0, 8)).not.toBe(rsaId.slice(0, 8));
      // The same ids on the next request: a listing and the signature after it agree.
      expect(listed().rsaId).toBe(rsaId);
      expect(
        composite
          .info()
          .slots.map((s) => s.label)
          .sort(),
      ).toEqual(['SKF Soft Token', HSM.label]);
    });

    it('sends each signature to the token the certificate came from', () => {
      const { rsaId, sm2Id } = listed();
      const data = Buffer.from('a login challenge');
      const rsaSignature = composite.sign(rsaId, HSM.pin, data, 'RSASSA-PKCS1-v1_5-SHA256');
      expect(
        verifySignature({
          certificateDer: rsa.certificateDer,
          data,
          signature: rsaSignature,
          algorithm: 'RSASSA-PKCS1-v1_5-SHA256',
        }).ok,
      ).toBe(true);
      const sm2Signature = composite.sign(sm2Id, SKF_PIN, data, 'SM2-SM3');
      expect(
        verifySignature({
          certificateDer: sm2.certificateDer,
          data,
          signature: sm2Signature,
          algorithm: 'SM2-SM3',
        }).ok,
      ).toBe(true);
    });

    it('refuses an id whose prefix names no token, or another token than the key’s', () => {
      const { rsaId, sm2Id } = listed();
      const data = Buffer.from('x');
      // The SKF container's id under the PKCS#11 token's prefix: no such key there.
      expect(() =>
        composite.sign(`${rsaId.slice(0, 8)}${sm2Id.slice(8)}`, HSM.pin, data, 'RSASSA-PKCS1-v1_5-SHA256'),
      ).toThrow(KeyNotFound);
      expect(() =>
        composite.sign(`00000000${rsaId.slice(8)}`, HSM.pin, data, 'RSASSA-PKCS1-v1_5-SHA256'),
      ).toThrow(KeyNotFound);
      expect(() => composite.sign(rsaId.slice(0, 8), HSM.pin, data, 'RSASSA-PKCS1-v1_5-SHA256')).toThrow(
        KeyNotFound,
      );
    });
  },
);

/** A token that lists what it is given and signs with a marker of its own. */
function fakeToken(name: string, certificates: TokenCertificate[]): BridgeToken & { close(): void } {
  return {
    info: () => ({ module: name, library: name, token: name, slots: [] }),
    listCertificates: () => certificates,
    sign: (id) => Buffer.from(`${name}:${id}`),
    close: () => {},
  };
}

const entry = (id: string, certificate: string, keyAlgorithm: string): TokenCertificate => ({
  id,
  label: id,
  certificate,
  subject: 'CN=x',
  notAfter: '2030-01-01T00:00:00.000Z',
  keyAlgorithm,
});

describe('a key that a vendor exposes through both PKCS#11 and SKF', () => {
  it('is listed once, through the interface that can sign with each certificate', () => {
    const p11 = fakeToken('p11', [entry('01', 'U00yY2VydA==', 'SM2'), entry('02', 'UlNBY2VydA==', 'RSA')]);
    const skf = fakeToken('skf', [
      entry('aa00bb', 'U00yY2VydA==', 'SM2'),
      entry('aa00cc', 'UlNBY2VydA==', 'RSA'),
    ]);
    const composite = new CompositeToken({
      current: () => [
        { path: 'p11', present: () => [{ key: 'p11', kind: 'pkcs11', token: p11 }], close: () => {} },
        { path: 'skf', present: () => [{ key: 'skf', kind: 'skf', token: skf }], close: () => {} },
      ],
      close: () => {},
    });
    const list = composite.listCertificates();
    expect(list).toHaveLength(2);
    const sm2 = list.find((c) => c.keyAlgorithm === 'SM2')!;
    const rsa = list.find((c) => c.keyAlgorithm === 'RSA')!;
    expect(composite.sign(sm2.id, '1', Buffer.from(''), 'SM2-SM3').toString()).toBe('skf:aa00bb');
    expect(composite.sign(rsa.id, '1', Buffer.from(''), 'RSASSA-PKCS1-v1_5-SHA256').toString()).toBe(
      'p11:02',
    );
  });
});

describe('the configuration file an installer writes', () => {
  const write = (text: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'uid-helper-config-')), 'unified-id-helper.json');
    writeFileSync(file, text);
    return file;
  };

  it('is read from the first place that has one, origins reduced to their origin', () => {
    const file = write('\uFEFF{ "origins": ["https://id.example.gov.cn/"], "port": 41444 }');
    expect(readHelperFile(['/nonexistent/unified-id-helper.json', file])).toEqual({
      file,
      config: { origins: ['https://id.example.gov.cn'], port: 41444 },
    });
    expect(readHelperFile(['/nonexistent/unified-id-helper.json'])).toBeUndefined();
  });

  it('names the file and the field when it is wrong, and the helper does not start', async () => {
    expect(() => readHelperFile([write('{ "origin": ["https://id.example.gov.cn"] }')])).toThrow(
      /unified-id-helper\.json: origins: .*; \(file\): Unrecognized key: "origin"/,
    );
    expect(() => readHelperFile([write('{ "origins": ["https://id.example.gov.cn/login"] }')])).toThrow(
      /origins\.0: an origin such as/,
    );
    expect(() => readHelperFile([write('{ "origins": ["*"] }')])).toThrow(/origins\.0/);
    let err = '';
    const code = await runHelper(['--config', write('{ "origins": [] }')], {
      out: () => {},
      err: (t) => {
        err += t;
      },
    });
    expect(code).toBe(2);
    expect(err).toMatch(/unified-id-helper\.json: origins: /);
  });

  it('without an origin from the file or --origin the helper refuses to serve, saying where it looked', async () => {
    let err = '';
    const code = await runHelper([], {
      out: () => {},
      err: (t) => {
        err += t;
      },
      configPlaces: ['/nonexistent/unified-id-helper.json'],
    });
    expect(code).toBe(2);
    expect(err).toContain('no provider to serve: pass --origin <url>, or write unified-id-helper.json');
    expect(err).toContain('/nonexistent/unified-id-helper.json');
  });

  it('is looked for next to the single executable, then machine-wide', () => {
    expect(configPlaces('/opt/apps/cn.gov.unified-id.helper/files/unified-id-helper', 'linux', {})).toEqual([
      '/opt/apps/cn.gov.unified-id.helper/files/unified-id-helper.json',
      '/etc/unified-id-helper.json',
    ]);
    expect(
      configPlaces('C:\\Program Files\\Unified ID\\unified-id-helper.exe', 'win32', {
        ProgramData: 'C:\\ProgramData',
      }),
    ).toEqual([
      'C:\\Program Files\\Unified ID\\unified-id-helper.json',
      'C:\\ProgramData\\UnifiedID\\unified-id-helper.json',
    ]);
  });
});
