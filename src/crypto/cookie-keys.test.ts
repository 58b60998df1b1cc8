import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cookieKeys } from './cookie-keys.js';

const keys = ['k'.repeat(32), 'older'.repeat(8)];

describe('cookie signatures under each profile', () => {
  it('signs with HMAC-SM3 under gm and HMAC-SHA-1 (keygrip’s default) under standard, with the newest key', () => {
    expect(cookieKeys(keys, 'gm').sign('uid.session=abc')).toBe(
      createHmac('sm3', keys[0]!).update('uid.session=abc').digest('base64url'),
    );
    expect(cookieKeys(keys, 'standard').sign('uid.session=abc')).toBe(
      createHmac('sha1', keys[0]!).update('uid.session=abc').digest('base64url'),
    );
  });

  it('accepts a cookie signed before a change of profile, and with an older key, but not a forged one', () => {
    const gm = cookieKeys(keys, 'gm');
    const before = cookieKeys(keys, 'standard').sign('uid.session=abc');
    expect(gm.index('uid.session=abc', before)).toBe(0);
    expect(gm.index('uid.session=abc', cookieKeys([keys[1]!], 'gm').sign('uid.session=abc'))).toBe(1);
    expect(gm.verify('uid.session=abd', gm.sign('uid.session=abc'))).toBe(false);
    expect(gm.index('uid.session=abc', cookieKeys(['x'.repeat(32)], 'gm').sign('uid.session=abc'))).toBe(-1);
  });
});
