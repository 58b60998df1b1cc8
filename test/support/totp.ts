import { generate } from 'otplib';

/**
 * The code the app showed one time-step ago, still accepted (one step either side). The code
 * that turns 两步验证 on is spent like any accepted code (RFC 6238 §5.2), so a test that enrols
 * with this one leaves the current step's code for the sign-in that follows in the same 30 s.
 */
export function previousTotpCode(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 });
}
