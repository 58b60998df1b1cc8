import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  newRequestStamp,
  SIGNATURE_WINDOW_SECONDS,
  signingText,
  signRequest,
  verifyRequest,
} from './hmac.js';

const SECRET = 'a-shared-secret-of-some-length';
const BODY = '{"name":"张三","idNumber":"11010519491231002X"}';
const STAMP = { timestamp: '1717214400', nonce: 'n0nce-0123456789' };
const AT = 1_717_214_400_000;
// Computed with `openssl dgst -sha256 -hmac … -binary | base64` over the signing text, not with this code.
const VECTOR = 'Z7xbUgi/t3Zaj/ve8sXc+SVzGqq4k23ER9zSLVjy/UQ=';

describe('signing', () => {
  it('covers timestamp, nonce and the raw UTF-8 body, joined by newlines', () => {
    expect(signingText(STAMP.timestamp, STAMP.nonce, BODY)).toBe(`1717214400\nn0nce-0123456789\n${BODY}`);
    expect(signRequest(SECRET, BODY, STAMP)).toEqual({ ...STAMP, signature: VECTOR });
  });

  it('stamps unix seconds and a fresh nonce each time', () => {
    const a = newRequestStamp(AT + 999);
    const b = newRequestStamp(AT + 999);
    expect(a.timestamp).toBe('1717214400');
    expect(a.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.nonce).not.toBe(b.nonce);
  });
});

describe('verifyRequest', () => {
  const signed = signRequest(SECRET, BODY, STAMP);

  it('accepts the signed request', () => {
    expect(verifyRequest(SECRET, BODY, signed, AT)).toEqual({ ok: true });
  });

  it('refuses another body, nonce, timestamp or secret', () => {
    const bad = { ok: false, reason: 'bad_signature' };
    expect(verifyRequest(SECRET, BODY.replace('张三', '李四'), signed, AT)).toEqual(bad);
    expect(verifyRequest(SECRET, `${BODY} `, signed, AT)).toEqual(bad);
    expect(verifyRequest(SECRET, BODY, { ...signed, nonce: 'n0nce-0123456780' }, AT)).toEqual(bad);
    expect(verifyRequest(SECRET, BODY, { ...signed, timestamp: '1717214401' }, AT)).toEqual(bad);
    expect(verifyRequest(`${SECRET}x`, BODY, signed, AT)).toEqual(bad);
    const other = createHmac('sha256', SECRET).update('something else').digest('base64');
    expect(verifyRequest(SECRET, BODY, { ...signed, signature: other }, AT)).toEqual(bad);
  });

  it('accepts a timestamp within five minutes either way, and refuses one beyond', () => {
    const window = SIGNATURE_WINDOW_SECONDS * 1000;
    expect(verifyRequest(SECRET, BODY, signed, AT + window)).toEqual({ ok: true });
    expect(verifyRequest(SECRET, BODY, signed, AT - window)).toEqual({ ok: true });
    expect(verifyRequest(SECRET, BODY, signed, AT + window + 1000)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyRequest(SECRET, BODY, signed, AT - window - 1000)).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses missing or malformed headers before computing anything', () => {
    const malformed = { ok: false, reason: 'malformed' };
    expect(verifyRequest(SECRET, BODY, {}, AT)).toEqual(malformed);
    expect(verifyRequest(SECRET, BODY, { ...signed, signature: undefined }, AT)).toEqual(malformed);
    // Number('') is 0, and NaN compares false with everything: neither may pass the window check.
    for (const timestamp of ['', 'abc', '1e9', ' 1717214400', '-1717214400', '1717214400.0']) {
      expect(verifyRequest(SECRET, BODY, { ...signed, timestamp }, AT)).toEqual(malformed);
    }
    for (const nonce of ['short', 'has space in it', 'new\nline-in-it', 'x'.repeat(129)]) {
      expect(verifyRequest(SECRET, BODY, { ...signed, nonce }, AT)).toEqual(malformed);
    }
    // Buffer.from would silently skip the stray characters; the signature must not be repaired.
    for (const signature of [`${VECTOR}!`, `*${VECTOR}`, VECTOR.slice(0, -1), VECTOR.replace('=', '')]) {
      expect(verifyRequest(SECRET, BODY, { ...signed, signature }, AT)).toEqual(malformed);
    }
  });

  it('refuses a well-formed signature of the wrong length', () => {
    const truncated = Buffer.from(VECTOR, 'base64').subarray(0, 16).toString('base64');
    expect(verifyRequest(SECRET, BODY, { ...signed, signature: truncated }, AT)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});
