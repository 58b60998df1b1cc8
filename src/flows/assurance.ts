import { ACR, ACR_VALUES, type Acr } from '../access/scopes.js';

/**
 * What the server itself verified in a sign-in, in RFC 8176's words: a password, an SMS code, a
 * TOTP or recovery code, a certificate key on a USB key (hwk) or in a file (swk), or Alipay's
 * assertion. Never what a page claims.
 */
export type Factor = 'pwd' | 'sms' | 'otp' | 'hwk' | 'swk' | 'alipay';

export interface Assurance {
  acr: Acr;
  amr: string[];
}

/**
 * acr and amr from the verified factors; the one place they are decided.
 * - cert: a CA certificate's private key (hwk or swk);
 * - mfa: the password plus a possession factor (SMS code or TOTP), or a TOTP code after any
 *   other factor. Alipay's assertion does not count towards mfa: how Alipay authenticated the
 *   person is not known here, so Alipay plus an SMS code or the password stays basic;
 * - basic: anything else.
 * amr keeps the order the factors were verified in, without repeats, with `mfa` last when mfa.
 */
export function assuranceOf(verified: readonly Factor[]): Assurance {
  const factors = [...new Set(verified)];
  const has = (f: Factor) => factors.includes(f);
  let acr: Acr = ACR.basic;
  if (has('hwk') || has('swk')) acr = ACR.cert;
  else if ((has('pwd') && has('sms')) || (has('otp') && factors.length > 1)) acr = ACR.mfa;
  return { acr, amr: acr === ACR.mfa ? [...factors, 'mfa'] : factors };
}

/** Whether acr `have` is below `want` in basic < mfa < cert. */
export function acrBelow(have: string, want: Acr): boolean {
  return ACR_VALUES.indexOf(have as Acr) < ACR_VALUES.indexOf(want);
}

const FACTORS: readonly Factor[] = ['pwd', 'sms', 'otp', 'hwk', 'swk', 'alipay'];

/** The factors recorded on a session (its amr), for a step-up that adds one. */
export function factorsOf(amr: readonly string[] | undefined): Factor[] {
  return (amr ?? []).filter((m): m is Factor => FACTORS.includes(m as Factor));
}
