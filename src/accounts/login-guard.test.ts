import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { TooManyRequests } from '../errors.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
import { LIMITS } from '../ops/rate-limiter.js';
import { canonicalLogin, LoginGuard } from './login-guard.js';

let database: Database;
let guard: LoginGuard;

beforeAll(async () => {
  database = openEmbeddedCopy();
  await migrate(database.db);
  guard = new LoginGuard(new RateLimitStore(database.db));
});
afterAll(() => database?.close());

describe('登录失败处理 counters', () => {
  it('count every spelling of one login together, whatever address it comes from', async () => {
    for (const [i, spelling] of [
      '+86 138-1234-5678',
      '0086 13812345678',
      '１３８１２３４５６７８',
    ].entries()) {
      await guard.recordFailure(spelling, `10.0.0.${i + 1}`);
    }
    expect(await guard.captchaRequired('13812345678', '10.0.0.9')).toBe(true);
    expect(await guard.captchaRequired('13912345678', '10.0.0.9')).toBe(false);
  });

  it('say with the third failure, without another read, that the next attempt needs the captcha', async () => {
    const login = '13712345678';
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push((await guard.recordFailure(login, `10.3.0.${i}`)).captchaRequired);
    expect(answers).toEqual([false, false, true]);
    // The failures are remembered for the window of 15 minutes from the first.
    const remembered = await new RateLimitStore(database.db).current('loginfail:ip:10.3.0.0');
    expect(remembered?.windowEndsAt.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(await guard.captchaRequired(login, '10.3.0.9')).toBe(true);
    // An empty login field is judged by the address alone, as captchaRequired judges it.
    for (let i = 0; i < 3; i++)
      expect((await guard.recordFailure('', `10.4.0.${i}`)).captchaRequired).toBe(false);
  });

  it('name an ID number and a credit code by their normalised form', () => {
    expect(canonicalLogin(' 11010519491231002x ')).toBe('11010519491231002X');
    expect(canonicalLogin('+8613812345678')).toBe('13812345678');
    expect(canonicalLogin('someone')).toBe('SOMEONE');
    // Full-width characters from an input method and spaces around do not start fresh counters.
    expect(canonicalLogin('１１０１０５１９４９１２３１００２ｘ')).toBe('11010519491231002X');
    expect(canonicalLogin('９１３５０１００Ｍ０００１００Ｙ４３')).toBe('91350100M000100Y43');
    expect(canonicalLogin(' someone ')).toBe('SOMEONE');
  });
});

/** The TooManyRequests an attempt's assertAllowed throws, or undefined when it is allowed. */
function refusal(attempt: { assertAllowed(): void }): TooManyRequests | undefined {
  try {
    attempt.assertAllowed();
    return undefined;
  } catch (err) {
    if (err instanceof TooManyRequests) return err;
    throw err;
  }
}

describe('a password attempt', () => {
  it('is refused from one address past its allowance, whatever login it tries, with a wait within the window', async () => {
    const ip = '10.20.0.1';
    for (let i = 0; i < LIMITS.loginPerIp.max; i++) {
      expect(refusal(await guard.attempt(`user-a${i}`, ip))).toBeUndefined();
    }
    const refused = refusal(await guard.attempt('user-a-next', ip));
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(LIMITS.loginPerIp.windowSeconds - 60);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.loginPerIp.windowSeconds);
    // Another address is not held back by it.
    expect(refusal(await guard.attempt('user-a-next', '10.20.0.2'))).toBeUndefined();
  });

  it('is refused on one login past its allowance, whatever address and spelling it comes with', async () => {
    const spellings = ['13612345678', '+86 136-1234-5678', '0086 13612345678'];
    for (let i = 0; i < LIMITS.loginPerAccount.max; i++) {
      expect(refusal(await guard.attempt(spellings[i % 3]!, `10.21.${i}.1`))).toBeUndefined();
    }
    const refused = refusal(await guard.attempt('13612345678', '10.21.200.1'));
    expect(refused?.retryAfterSeconds).toBeGreaterThan(LIMITS.loginPerAccount.windowSeconds - 60);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.loginPerAccount.windowSeconds);
    expect(refusal(await guard.attempt('13612345679', '10.21.200.1'))).toBeUndefined();
  });

  it('asks for the captcha after three failures of its login or from its address, and says what a success clears', async () => {
    const login = '13512345678';
    let attempt = await guard.attempt(login, '10.22.0.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([false, 0]);
    await guard.recordFailure(login, '10.22.0.2');
    await guard.recordFailure(login, '10.22.0.3');
    attempt = await guard.attempt(login, '10.22.0.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([false, 2]);
    await guard.recordFailure('+86 135 1234 5678', '10.22.0.4');
    attempt = await guard.attempt(login, '10.22.0.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([true, 3]);
    for (let i = 0; i < 3; i++) await guard.recordFailure('13512340000', `10.22.2.${i}`);
    await guard.clear(login);
    attempt = await guard.attempt(login, '10.22.0.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([false, 0]);
    // A success clears its own login's failures only: another login's stay counted.
    attempt = await guard.attempt('13512340000', '10.22.3.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([true, 3]);

    // Three failures from one address ask every login from there for the captcha.
    for (let i = 0; i < 3; i++) await guard.recordFailure(`user-b${i}`, '10.22.1.1');
    attempt = await guard.attempt('user-b-other', '10.22.1.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([true, 0]);
  });

  it('with an empty login is judged by its address alone', async () => {
    // Failures of an empty login are not counted against a shared "empty" account…
    for (let i = 0; i < 3; i++) await guard.recordFailure('', `10.23.0.${i}`);
    const attempt = await guard.attempt('', '10.23.1.1');
    expect([attempt.captchaRequired, attempt.loginFailures]).toEqual([false, 0]);
    expect(await guard.captchaRequired('', '10.23.1.1')).toBe(false);
    // … but the address's are.
    for (let i = 0; i < 3; i++) await guard.recordFailure('', '10.23.2.1');
    expect((await guard.attempt('', '10.23.2.1')).captchaRequired).toBe(true);
    expect(await guard.captchaRequired('', '10.23.2.1')).toBe(true);
  });
});
