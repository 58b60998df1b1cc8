import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataProtector, indexAlgorithmOf, sealAlgorithmOf } from './sealed.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const openssl = (args: string[], input: Buffer | string) => execFileSync('openssl', args, { input });

describe('SM3 and SM4 as node:crypto (OpenSSL 3) computes them: the standards’ published vectors', () => {
  it('SM3("abc") is GB/T 32905-2016 example 1', () => {
    expect(createHash('sm3').update('abc').digest('hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
  });

  it('SM3 of "abcd" sixteen times is GB/T 32905-2016 example 2', () => {
    expect(createHash('sm3').update('abcd'.repeat(16)).digest('hex')).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('SM4 enciphers GB/T 32907-2016 example 1, and deciphers it back', () => {
    const key = hex('0123456789abcdeffedcba9876543210');
    const cipher = createCipheriv('sm4-ecb', key, null).setAutoPadding(false);
    const block = Buffer.concat([cipher.update(key), cipher.final()]);
    expect(block.toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
    const decipher = createDecipheriv('sm4-ecb', key, null).setAutoPadding(false);
    expect(Buffer.concat([decipher.update(block), decipher.final()]).equals(key)).toBe(true);
  });

  it('HMAC-SM3 gives GM/T 0042-2015 appendix D.3’s outputs', () => {
    const longKey = hex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20');
    const abcd = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'.repeat(2);
    expect(createHmac('sm3', longKey).update(abcd).digest('hex')).toBe(
      'ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a',
    );
    const key37 = hex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425');
    expect(createHmac('sm3', key37).update(Buffer.alloc(50, 0xcd)).digest('hex')).toBe(
      '220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae',
    );
    expect(createHmac('sm3', Buffer.alloc(20, 0x0b)).update('Hi There').digest('hex')).toBe(
      '51b00d1fb49832bfb01c3ce27848e59f871d9ba938dc563b338ca964755cce70',
    );
  });
});

describe('the same algorithms as the openssl command line computes them', () => {
  it('openssl dgst -sm3 agrees with SM3', () => {
    const text = '统一身份认证 SM3';
    expect(openssl(['dgst', '-sm3', '-r'], text).toString().split(' ')[0]).toBe(
      createHash('sm3').update(text).digest('hex'),
    );
  });

  it('openssl enc -sm4-cbc deciphers what SM4-CBC enciphered, and the other way round', () => {
    const key = hex('0123456789abcdeffedcba9876543210');
    const iv = hex('000102030405060708090a0b0c0d0e0f');
    const text = Buffer.from('居民身份证号码 110101199003074578');
    const cipher = createCipheriv('sm4-cbc', key, iv);
    const ours = Buffer.concat([cipher.update(text), cipher.final()]);
    const args = ['enc', '-sm4-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex')];
    expect(openssl(args, text).equals(ours)).toBe(true);
    expect(openssl([...args, '-d'], ours).equals(text)).toBe(true);
  });

  it('openssl mac HMAC with SM3 agrees with HMAC-SM3', () => {
    const key = hex('0b'.repeat(20));
    const out = openssl(
      ['mac', '-digest', 'SM3', '-macopt', `hexkey:${key.toString('hex')}`, 'HMAC'],
      'Hi There',
    );
    expect(out.toString().trim().toLowerCase()).toBe(createHmac('sm3', key).update('Hi There').digest('hex'));
  });
});

describe('sealing under each profile', () => {
  const root = Buffer.alloc(32, 9);
  const standard = new DataProtector(root, 'standard');
  const gm = new DataProtector(root, 'gm');

  it('names its algorithm in each value, with a fresh IV each time', () => {
    const a = gm.seal('张三', 'account:1:real_name');
    const b = gm.seal('张三', 'account:1:real_name');
    expect(a).toMatch(/^sm4\./);
    expect(a).not.toBe(b);
    expect(sealAlgorithmOf(a)).toBe('sm4-cbc+hmac-sm3');
    expect(sealAlgorithmOf(standard.seal('张三'))).toBe('aes-256-gcm');
  });

  it('opens values of either kind under either profile, so a change of profile loses nothing', () => {
    for (const writer of [standard, gm])
      for (const reader of [standard, gm])
        expect(reader.open(writer.seal('110101199003074578', 'ctx'), 'ctx')).toBe('110101199003074578');
  });

  it('reseals a value of the other profile and leaves one of its own alone', () => {
    const old = standard.seal('secret', 'client:x');
    const moved = gm.reseal(old, 'client:x');
    expect(moved).toMatch(/^sm4\./);
    expect(gm.open(moved!, 'client:x')).toBe('secret');
    expect(gm.reseal(moved!, 'client:x')).toBeUndefined();
  });

  it('refuses a value moved to another row, a flipped ciphertext bit, a cut MAC or another key', () => {
    const sealed = gm.seal('张三', 'account:1:real_name');
    expect(() => gm.open(sealed, 'account:2:real_name')).toThrow(/integrity/);
    const [tag, iv, ct, mac] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0]! ^= 1;
    expect(() =>
      gm.open([tag, iv, flipped.toString('base64url'), mac].join('.'), 'account:1:real_name'),
    ).toThrow(/integrity/);
    const otherIv = Buffer.from(iv, 'base64url');
    otherIv[15]! ^= 1;
    expect(() =>
      gm.open([tag, otherIv.toString('base64url'), ct, mac].join('.'), 'account:1:real_name'),
    ).toThrow(/integrity/);
    expect(() => gm.open([tag, iv, ct, mac.slice(0, 20)].join('.'), 'account:1:real_name')).toThrow(
      /integrity/,
    );
    // A standard value relabelled as SM4 (a downgrade the other way) is refused too.
    const relabelled = `sm4.${standard.seal('张三', 'account:1:real_name').split('.').slice(1).join('.')}`;
    expect(() => gm.open(relabelled, 'account:1:real_name')).toThrow();
    expect(() => new DataProtector(Buffer.alloc(32, 8), 'gm').open(sealed, 'account:1:real_name')).toThrow(
      /integrity/,
    );
  });
});

describe('blind indexes under each profile', () => {
  const root = Buffer.alloc(32, 9);
  const standard = new DataProtector(root, 'standard');
  const gm = new DataProtector(root, 'gm');

  it('are HMAC-SM3 under gm, tagged so a stored index names its algorithm', () => {
    const index = gm.blindIndex('id_number', '110101199003074578');
    expect(index).toMatch(/^sm3\./);
    expect(indexAlgorithmOf(index)).toBe('hmac-sm3');
    expect(indexAlgorithmOf(standard.blindIndex('id_number', '110101199003074578'))).toBe('hmac-sha256');
    expect(index).not.toBe(standard.blindIndex('id_number', '110101199003074578'));
  });

  it('lookups carry both profiles’ indexes, the configured one first', () => {
    const [mine, theirs] = gm.blindIndexes('id_number', 'x');
    expect(mine).toBe(gm.blindIndex('id_number', 'x'));
    expect(theirs).toBe(standard.blindIndex('id_number', 'x'));
    expect(standard.blindIndexes('id_number', 'x')).toEqual([theirs, mine]);
  });

  it('a stored index of either kind matches its value and no other', () => {
    for (const stored of [standard.blindIndex('sms', 'a'), gm.blindIndex('sms', 'a')]) {
      expect(gm.indexMatches(stored, 'sms', 'a')).toBe(true);
      expect(standard.indexMatches(stored, 'sms', 'a')).toBe(true);
      expect(gm.indexMatches(stored, 'sms', 'b')).toBe(false);
    }
  });
});
