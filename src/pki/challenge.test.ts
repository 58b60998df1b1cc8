import { describe, expect, it } from 'vitest';
import {
  buildChallenge,
  CHALLENGE_TTL_SECONDS,
  ChallengeInputError,
  challengeExpiry,
  newNonce,
  readChallenge,
} from './challenge.js';

describe('the certificate login challenge', () => {
  it('is the exact text README.md gives under 证书登录, and its UTF-8 bytes', () => {
    const challenge = buildChallenge({
      issuer: 'https://id.fj.gov.cn',
      interactionId: 'Zt3vJ0tq0nBqNwZz',
      nonce: 'n0nce_-AB',
      expiresAt: new Date('2025-03-01T08:02:00Z'),
    });
    expect(challenge.text).toBe(
      'unified-id:cert-login:https://id.fj.gov.cn:Zt3vJ0tq0nBqNwZz:n0nce_-AB:2025-03-01T08:02:00.000Z',
    );
    expect(new TextDecoder().decode(challenge.bytes)).toBe(challenge.text);
  });

  it('refuses an interaction id or nonce that could move a field boundary', () => {
    const base = {
      issuer: 'https://id.fj.gov.cn',
      interactionId: 'abc',
      nonce: 'xyz',
      expiresAt: new Date(),
    };
    expect(() => buildChallenge({ ...base, interactionId: 'a:b' })).toThrow(ChallengeInputError);
    expect(() => buildChallenge({ ...base, nonce: '' })).toThrow(ChallengeInputError);
    expect(() => buildChallenge({ ...base, expiresAt: new Date(Number.NaN) })).toThrow(ChallengeInputError);
  });

  it('uses nonces of at least 128 random bits in base64url', () => {
    const nonces = new Set(Array.from({ length: 100 }, () => newNonce()));
    expect(nonces.size).toBe(100);
    for (const nonce of nonces) {
      expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(nonce, 'base64url').length).toBeGreaterThanOrEqual(16);
    }
  });

  it('expires two minutes after it is issued', () => {
    const now = new Date('2025-03-01T08:00:00Z');
    expect(CHALLENGE_TTL_SECONDS).toBe(120);
    expect(challengeExpiry(now).toISOString()).toBe('2025-03-01T08:02:00.000Z');
  });
});

describe('reading a challenge back (what the 证书助手 agrees to sign)', () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it('gives back the fields of a challenge the provider built, an issuer with a path included', () => {
    const input = {
      issuer: 'https://id.fj.gov.cn/oidc',
      interactionId: 'Zt3vJ0tq0nBqNwZz',
      nonce: newNonce(),
      expiresAt: new Date('2025-03-01T08:02:00Z'),
    };
    expect(readChallenge(buildChallenge(input).bytes)).toEqual(input);
  });

  it('refuses anything else: other text, a changed prefix, a bad date, another scheme, invalid UTF-8', () => {
    for (const text of [
      'hello',
      '',
      'unified-id:cert-login:https://id.fj.gov.cn:abc:xyz',
      'unified-id:cert-logout:https://id.fj.gov.cn:abc:xyz:2025-03-01T08:02:00.000Z',
      'unified-id:cert-login:https://id.fj.gov.cn:abc:xyz:2025-13-01T08:02:00.000Z',
      'unified-id:cert-login:https://id.fj.gov.cn:abc:xyz:2025-03-01T08:02:00Z',
      'unified-id:cert-login:javascript:alert(1):abc:xyz:2025-03-01T08:02:00.000Z',
      'unified-id:cert-login:https://id.fj.gov.cn:abc:xyz:2025-03-01T08:02:00.000Z\n',
      'x unified-id:cert-login:https://id.fj.gov.cn:abc:xyz:2025-03-01T08:02:00.000Z',
    ]) {
      expect(readChallenge(encode(text)), text).toBeUndefined();
    }
    expect(readChallenge(new Uint8Array([0xff, 0xfe, 0x41]))).toBeUndefined();
  });
});
