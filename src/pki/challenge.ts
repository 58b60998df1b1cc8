import { randomBytes } from 'node:crypto';

// The text a certificate holder signs to log in. It names this provider, the
// interaction and the expiry, so a signature is useless anywhere else and
// after two minutes; the nonce makes each one unique. Storing it and using it
// once is the login flow's job.

/** A challenge is valid for two minutes (README.md, 证书登录). */
export const CHALLENGE_TTL_SECONDS = 120;

const PREFIX = 'unified-id:cert-login';

export interface ChallengeInput {
  /** The OpenID Provider's issuer URL. */
  issuer: string;
  interactionId: string;
  nonce: string;
  expiresAt: Date;
}

export interface Challenge {
  text: string;
  /** The UTF-8 bytes of `text`: what gets signed. */
  bytes: Uint8Array;
}

export class ChallengeInputError extends RangeError {
  override name = 'ChallengeInputError';
}

/** ≥128 bits from the CSPRNG (here 256), base64url without padding. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

export function buildChallenge({ issuer, interactionId, nonce, expiresAt }: ChallengeInput): Challenge {
  // The issuer is a URL and contains ':', and so does the fixed-width date; with
  // colon-free id and nonce between them, no two inputs give the same text.
  for (const [name, value] of [
    ['interactionId', interactionId],
    ['nonce', nonce],
  ] as const) {
    if (value.length === 0 || /[:\s]/.test(value))
      throw new ChallengeInputError(`${name} must be non-empty without ':' or spaces`);
  }
  if (issuer.length === 0 || /\s/.test(issuer))
    throw new ChallengeInputError('issuer must be non-empty without spaces');
  if (Number.isNaN(expiresAt.getTime())) throw new ChallengeInputError('expiresAt is not a valid date');

  const text = `${PREFIX}:${issuer}:${interactionId}:${nonce}:${expiresAt.toISOString()}`;
  return { text, bytes: new TextEncoder().encode(text) };
}

/** The expiry for a challenge issued at `now`. */
export function challengeExpiry(now: Date): Date {
  return new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000);
}

const CHALLENGE_TEXT =
  /^unified-id:cert-login:(\S+):([^:\s]+):([^:\s]+):(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/;

/**
 * The fields of a challenge, or undefined when `bytes` are not one this provider could have
 * issued. The 证书助手 signs nothing else, so a page can not make it sign arbitrary data.
 */
export function readChallenge(bytes: Uint8Array): ChallengeInput | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const match = CHALLENGE_TEXT.exec(text);
  if (!match) return undefined;
  const [, issuer, interactionId, nonce, expiry] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  try {
    const url = new URL(issuer);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    const input = { issuer, interactionId, nonce, expiresAt: new Date(expiry) };
    // Built again and compared, so that only text buildChallenge itself gives is accepted.
    return buildChallenge(input).text === text ? input : undefined;
  } catch {
    return undefined;
  }
}
