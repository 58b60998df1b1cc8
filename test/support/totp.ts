import { setTimeout as sleep } from 'node:timers/promises';
import { generate } from 'otplib';

const STEP_MS = 30_000;
/** Longer than a code takes from here to the server's check, on a busy machine. */
const SUBMIT_MS = 5_000;

/**
 * The code the app showed one time-step ago, still accepted (one step either side). The code
 * that turns 两步验证 on is spent like any accepted code (RFC 6238 §5.2), so a test that enrols
 * with this one leaves the current step's code for the sign-in that follows in the same 30 s.
 * In a step's last seconds it waits for the next step first: a boundary between making the
 * code and the server's check would leave it two steps old and refused (a CI run saw it).
 */
export async function previousTotpCode(secret: string): Promise<string> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < SUBMIT_MS) await sleep(left + 50);
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 });
}
