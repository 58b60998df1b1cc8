import { randomBytes } from 'node:crypto';

// The text a certificate holder signs to log in. It names this provider, the
// interaction and the expiry, so a signature is useless anywhere else and
// after two minutes; the nonce makes each one unique. Storing it and using it
// once is the login flow's job.

/** DOMAIN.md: a challenge is valid for two minutes. */
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
