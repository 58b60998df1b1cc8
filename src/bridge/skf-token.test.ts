import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gccAvailable,
  prepareSoftSkf,
  type SoftSkfToken,
  softSkfLibrary,
} from '../../test/support/skf-soft.js';
import { buildChallenge, challengeExpiry, newNonce } from '../pki/challenge.js';
import { createDevCa, type IssuedCertificate, issueEnterpriseCertificate } from '../pki/dev-ca.js';
import { verifySignature } from '../pki/signature.js';
import { SkfToken } from './skf-token.js';
import { AlgorithmKeyMismatch, KeyNotFound, PinIncorrect, PinLocked, UnsupportedAlgorithm } from './token.js';

const PIN = '12345678';
/** 企业签名 in GBK, as some vendors' tools name containers: bytes that are not UTF-8. */
const GBK_NAME = Buffer.from('c6f3d2b5c7a9c3fb', 'hex');
const hex = (text: string | Buffer) => Buffer.from(text).toString('hex');
/** The id the token gives a container of its one application. */
const idOf = (container: string | Buffer) => `${hex('UNIFIED_ID')}00${hex(container)}`;

describe.skipIf(!gccAvailable())('an SM2 USB key through SKF (the software token)', () => {
  let token: SkfToken;
  let soft: SoftSkfToken;
  let signing: IssuedCertificate;
  let second: IssuedCertificate;
  const challenge = () =>
    buildChallenge({
      issuer: 'https://id.example.gov.cn',
      interactionId: 'abc',
      nonce: newNonce(),
      expiresAt: challengeExpiry(new Date()),
    });

  beforeAll(async () => {
    const ca = await createDevCa({ algorithm: 'SM2' });
    const issue = (algorithm: 'SM2' | 'ECDSA-P256' | 'RSA', orgName = '福州某某有限公司') =>
      issueEnterpriseCertificate(ca, { creditCode: '91350100M000100Y43', orgName, algorithm });
    signing = await issue('SM2');
    second = await issue('SM2', '厦门某某有限公司');
    const p256 = await issue('ECDSA-P256');
    const rsa = await issue('RSA');
    // A container whose key is not the one its certificate names (a key re-generated in place).
    const stranger = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    soft = prepareSoftSkf({
      pin: PIN,
      maxTries: 3,
      containers: [
        { name: 'sign', privateKey: signing.privateKey, certificateDer: signing.certificateDer },
        { name: GBK_NAME, privateKey: second.privateKey, certificateDer: second.certificateDer },
        { name: 'p256', privateKey: p256.privateKey, certificateDer: p256.certificateDer },
        { name: 'rsa', privateKey: rsa.privateKey, certificateDer: rsa.certificateDer },
        { name: 'empty' },
        { name: 'replaced', privateKey: stranger.privateKey, certificateDer: signing.certificateDer },
      ],
    });
    token = new SkfToken(softSkfLibrary());
  });
  afterAll(() => token?.close());

  it('lists the SM2 signing certificates with what 选择证书 shows, and nothing else', () => {
    const list = token.listCertificates();
    expect(list.map((c) => c.label).sort()).toEqual(['replaced', 'sign', '企业签名']);
    const entry = list.find((c) => c.label === 'sign')!;
    expect(entry).toMatchObject({
      id: idOf('sign'),
      holderName: '福州某某有限公司',
      keyAlgorithm: 'SM2',
      issuerName: expect.stringMatching(/^Unified ID Dev CA/),
    });
    expect(Buffer.from(entry.certificate, 'base64').equals(Buffer.from(signing.certificateDer))).toBe(true);
    // A GBK name is shown decoded, and its id holds the bytes the key gave, to hand back unchanged.
    expect(list.find((c) => c.label === '企业签名')?.id).toBe(idOf(GBK_NAME));
  });

  it('reports the device by its label and maker', () => {
    expect(token.info()).toMatchObject({
      library: 'SKF (Unified ID test)',
      token: 'SKF Soft Token',
      slots: [{ index: 0, label: 'SKF Soft Token', model: 'SKF-SOFT-0', selected: true }],
    });
  });

  it('signs a login challenge that the server verifies, and OpenSSL too with the default user id', () => {
    const { text, bytes } = challenge();
    const signature = token.sign(idOf('sign'), PIN, Buffer.from(text), 'SM2-SM3');
    expect(
      verifySignature({
        certificateDer: signing.certificateDer,
        data: bytes,
        signature,
        algorithm: 'SM2-SM3',
      }),
    ).toMatchObject({ ok: true });
    // The other certificate's key did not sign it.
    expect(
      verifySignature({ certificateDer: second.certificateDer, data: bytes, signature, algorithm: 'SM2-SM3' })
        .ok,
    ).toBe(false);

    // The container with the GBK name, reached by the id it was listed under.
    const bySecond = token.sign(idOf(GBK_NAME), PIN, Buffer.from(text), 'SM2-SM3');
    expect(
      verifySignature({
        certificateDer: second.certificateDer,
        data: bytes,
        signature: bySecond,
        algorithm: 'SM2-SM3',
      }).ok,
    ).toBe(true);

    // An implementation that shares no code with ours: Z over the user id, then SM3, then SM2.
    const dir = mkdtempSync(path.join(tmpdir(), 'uid-skf-openssl-'));
    writeFileSync(path.join(dir, 'data'), bytes);
    writeFileSync(path.join(dir, 'sig'), signature);
    writeFileSync(
      path.join(dir, 'pub.pem'),
      signing.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    );
    const verified = execFileSync(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        'pub.pem',
        '-rawin',
        '-digest',
        'sm3',
        '-in',
        'data',
        '-sigfile',
        'sig',
        '-pkeyopt',
        'distid:1234567812345678',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(verified).toContain('Signature Verified Successfully');
  });

  it('refuses what it can not sign before asking for the PIN, so no try is spent', () => {
    const data = Buffer.from(challenge().text);
    expect(() => token.sign(idOf('sign'), PIN, data, 'ECDSA-P256-SHA256')).toThrow(AlgorithmKeyMismatch);
    expect(() => token.sign(idOf('sign'), PIN, data, 'DSA-SHA1')).toThrow(UnsupportedAlgorithm);
    for (const id of [idOf('p256'), idOf('rsa'), idOf('empty'), idOf('none'), hex('sign'), '00', 'ab00']) {
      expect(() => token.sign(id, 'wrong', data, 'SM2-SM3'), id).toThrow(KeyNotFound);
    }
    expect(() => token.sign(`${hex('OTHER_APP')}00${hex('sign')}`, 'wrong', data, 'SM2-SM3')).toThrow(
      KeyNotFound,
    );
    // The key in the container is not the certificate's: signing would be in vain.
    expect(() => token.sign(idOf('replaced'), 'wrong', data, 'SM2-SM3')).toThrow(KeyNotFound);
    expect(soft.triesLeft()).toBe(3);
  });

  it('says how many tries are left after a wrong PIN; the right PIN restores them', () => {
    const data = Buffer.from(challenge().text);
    const wrong = () => {
      try {
        token.sign(idOf('sign'), '000000', data, 'SM2-SM3');
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const first = wrong();
    expect(first).toBeInstanceOf(PinIncorrect);
    expect((first as PinIncorrect).triesLeft).toBe(2);
    expect((wrong() as PinIncorrect).triesLeft).toBe(1);
    expect(token.sign(idOf('sign'), PIN, data, 'SM2-SM3').length).toBeGreaterThan(64);
    expect(soft.triesLeft()).toBe(3);
  });

  it('logs out after each signature: a wrong PIN after a right one does not sign', () => {
    const data = Buffer.from(challenge().text);
    token.sign(idOf('sign'), PIN, data, 'SM2-SM3');
    expect(() => token.sign(idOf('sign'), '000000', data, 'SM2-SM3')).toThrow(PinIncorrect);
    token.sign(idOf('sign'), PIN, data, 'SM2-SM3');
  });

  it('reports a locked key as locked, from the wrong PIN that spends the last try on, even with the right PIN', () => {
    const data = Buffer.from(challenge().text);
    expect(() => token.sign(idOf('sign'), '000000', data, 'SM2-SM3')).toThrow(PinIncorrect);
    expect(() => token.sign(idOf('sign'), '000000', data, 'SM2-SM3')).toThrow(PinIncorrect);
    expect(() => token.sign(idOf('sign'), '000000', data, 'SM2-SM3')).toThrow(PinLocked);
    expect(soft.triesLeft()).toBe(0);
    expect(() => token.sign(idOf('sign'), PIN, data, 'SM2-SM3')).toThrow(PinLocked);
    expect(() => token.sign(idOf(GBK_NAME), PIN, data, 'SM2-SM3')).toThrow(PinLocked);
  });

  it('lists nothing and signs nothing when no key is plugged in', () => {
    const dir = process.env['SKF_SOFT_DIR'];
    delete process.env['SKF_SOFT_DIR'];
    try {
      expect(token.listCertificates()).toEqual([]);
      expect(token.info().slots).toEqual([]);
      expect(() => token.sign(idOf('sign'), PIN, Buffer.from('x'), 'SM2-SM3')).toThrow(KeyNotFound);
    } finally {
      process.env['SKF_SOFT_DIR'] = dir;
    }
  });
});
