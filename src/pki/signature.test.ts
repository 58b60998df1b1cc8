import { generateKeyPairSync, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateDevKeyPair, type KeyPair, signAsHolder } from './dev-ca.js';
import { decodeDerSignature, encodeDerSignature } from './encoding.js';
import { spkiOf } from './public-key.js';
import { verifySignature } from './signature.js';
import { sm2Sign, sm2Verify } from './sm2.js';

const data = new TextEncoder().encode(
  'unified-id:cert-login:https://id.fj.gov.cn:i:n:2025-03-01T08:02:00.000Z',
);

describe('SM2 with SM3', () => {
  it('verifies the GM/T 0003.5 example signature (default user id, "message digest")', () => {
    const publicPoint = Buffer.from(
      '04' +
        '09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020' +
        'CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13',
      'hex',
    );
    const signature = encodeDerSignature({
      r: 0xf5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3n,
      s: 0xb1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aan,
    });
    const message = new TextEncoder().encode('message digest');
    expect(sm2Verify({ publicPoint, data: message, signature })).toBe(true);
    expect(sm2Verify({ publicPoint, data: new TextEncoder().encode('message digesT'), signature })).toBe(
      false,
    );
    // The same signature under another user id is a different Z_A, so it must fail.
    expect(sm2Verify({ publicPoint, data: message, signature, userId: 'ALICE123@YAHOO.COM' })).toBe(false);
  });

  it('refuses s + n, which the library would otherwise reduce and accept', async () => {
    const key = await generateDevKeyPair('SM2');
    const signature = sm2Sign(key.privateKey, data);
    const rs = decodeDerSignature(signature)!;
    const n = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
    const check = (bytes: Uint8Array) =>
      verifySignature({ publicKey: key.publicKey, data, signature: bytes, algorithm: 'SM2-SM3' }).ok;
    expect(check(signature)).toBe(true);
    expect(check(encodeDerSignature({ r: rs.r, s: rs.s + n }))).toBe(false);
  });

  it('is not plain ECDSA with SM3 on the SM2 curve (what OpenSSL does with such a key)', async () => {
    const key = await generateDevKeyPair('SM2');
    const ecdsaWithSm3 = new Uint8Array(sign('sm3', data, key.privateKey));
    expect(
      verifySignature({ publicKey: key.publicKey, data, signature: ecdsaWithSm3, algorithm: 'SM2-SM3' }),
    ).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });
});

describe('challenge signatures', () => {
  let p256: KeyPair;
  let p384: KeyPair;

  beforeAll(async () => {
    [p256, p384] = await Promise.all([generateDevKeyPair('ECDSA-P256'), generateDevKeyPair('ECDSA-P384')]);
  });

  it('accepts ECDSA as WebCrypto r||s and as DER', () => {
    for (const [key, algorithm] of [
      [p256, 'ECDSA-P256-SHA256'],
      [p384, 'ECDSA-P384-SHA384'],
    ] as const) {
      for (const encoding of ['ieee-p1363', 'der'] as const) {
        const signature = signAsHolder(key.privateKey, algorithm, data, encoding);
        expect(
          verifySignature({ publicKey: key.publicKey, data, signature, algorithm }),
          `${algorithm} ${encoding}`,
        ).toMatchObject({
          ok: true,
        });
      }
    }
  });

  it('takes the public key as SPKI bytes or as a KeyObject', () => {
    const signature = signAsHolder(p256.privateKey, 'ECDSA-P256-SHA256', data);
    for (const publicKey of [spkiOf(p256.publicKey), p256.publicKey]) {
      expect(verifySignature({ publicKey, data, signature, algorithm: 'ECDSA-P256-SHA256' }).ok).toBe(true);
    }
  });

  it('refuses algorithm names it does not know, whatever the key', () => {
    const signature = signAsHolder(p256.privateKey, 'ECDSA-P256-SHA256', data);
    for (const algorithm of ['ES256', 'ECDSA-P256-SHA1', 'none', '']) {
      expect(verifySignature({ publicKey: p256.publicKey, data, signature, algorithm })).toMatchObject({
        ok: false,
        reason: 'unsupported_algorithm',
      });
    }
  });

  it('refuses truncated or garbage signatures without throwing', () => {
    const signature = signAsHolder(p256.privateKey, 'ECDSA-P256-SHA256', data, 'der');
    for (const bytes of [
      signature.subarray(0, 10),
      new Uint8Array(0),
      new Uint8Array(64),
      new Uint8Array(300).fill(0x30),
    ]) {
      expect(
        verifySignature({ publicKey: p256.publicKey, data, signature: bytes, algorithm: 'ECDSA-P256-SHA256' })
          .ok,
      ).toBe(false);
    }
  });

  it('refuses RSA keys shorter than 2048 bits', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const signature = signAsHolder(weak.privateKey, 'RSASSA-PKCS1-v1_5-SHA256', data);
    expect(
      verifySignature({ publicKey: weak.publicKey, data, signature, algorithm: 'RSASSA-PKCS1-v1_5-SHA256' }),
    ).toMatchObject({ ok: false, reason: 'weak_key', message: '证书密钥长度不足' });
  });

  it('refuses a certificate it can not parse', () => {
    const signature = signAsHolder(p256.privateKey, 'ECDSA-P256-SHA256', data);
    const check = verifySignature({
      certificateDer: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      data,
      signature,
      algorithm: 'ECDSA-P256-SHA256',
    });
    expect(check).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
