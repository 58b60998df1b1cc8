import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { RateLimitStore } from '../ops/rate-limit-store.js';
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
    expect(await guard.captchaRequired(login, '10.3.0.9')).toBe(true);
    // An empty login field is judged by the address alone, as captchaRequired judges it.
    for (let i = 0; i < 3; i++)
      expect((await guard.recordFailure('', `10.4.0.${i}`)).captchaRequired).toBe(false);
  });

  it('name an ID number and a credit code by their normalised form', () => {
    expect(canonicalLogin(' 11010519491231002x ')).toBe('11010519491231002X');
    expect(canonicalLogin('+8613812345678')).toBe('13812345678');
    expect(canonicalLogin('someone')).toBe('SOMEONE');
  });
});
