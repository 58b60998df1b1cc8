import { TooManyRequests } from '../errors.js';
import { parseCreditCode } from '../identifiers/credit-code.js';
import { parseIdNumber } from '../identifiers/id-number.js';
import type { RateLimitStore } from '../ops/rate-limit-store.js';
import { LIMITS } from '../ops/rate-limiter.js';
import { parseMainlandMobile } from './phone.js';

const WINDOW_SECONDS = 15 * 60;
/** After three failures for an account or from an address in 15 minutes, the captcha is asked for. */
const CAPTCHA_AFTER = 3;

/** One password attempt as counted by LoginGuard.attempt. */
export interface LoginAttempt {
  captchaRequired: boolean;
  /** Failures of this login in the window: 0 means there is nothing to clear after a success. */
  loginFailures: number;
  /** Throws TooManyRequests when the attempt is over the per-address or per-login limit. */
  assertAllowed(): void;
}

/**
 * The one spelling of a login that its counters are kept under: findByLogin takes
 * `+86 138-1234-5678`, `13812345678` or a lower-case ID number for the same account, and each
 * spelling must not start the limits and the captcha count afresh.
 */
export function canonicalLogin(login: string): string {
  const phone = parseMainlandMobile(login);
  if (phone.ok) return phone.national;
  const id = parseIdNumber(login);
  if (id.ok) return id.idNumber;
  const code = parseCreditCode(login);
  if (code.ok) return code.creditCode;
  return login.trim().toUpperCase();
}

/** The failure counters of a login (whatever its spelling) and of an address. */
const loginFailKey = (login: string) => `loginfail:account:${canonicalLogin(login)}`;
const addressFailKey = (ip: string) => `loginfail:ip:${ip}`;

function overCaptchaThreshold(loginFailures: number, addressFailures: number): boolean {
  return loginFailures >= CAPTCHA_AFTER || addressFailures >= CAPTCHA_AFTER;
}

/** Failure counters behind 登录失败处理, kept in the database so every process sees the same ones. */
export class LoginGuard {
  constructor(private readonly counters: RateLimitStore) {}

  async captchaRequired(login: string, ip: string): Promise<boolean> {
    const counts = await Promise.all([
      login ? this.counters.peek(loginFailKey(login)) : 0,
      this.counters.peek(addressFailKey(ip)),
    ]);
    return overCaptchaThreshold(...counts);
  }

  /**
   * A password attempt, in one statement: counted against the per-address and per-login limits
   * (LIMITS.loginPerIp / loginPerAccount), with the failure counters that decide the captcha.
   */
  async attempt(login: string, ip: string): Promise<LoginAttempt> {
    const failByAccount = loginFailKey(login);
    const failByIp = addressFailKey(ip);
    const limits = [
      { limit: LIMITS.loginPerIp, key: `${LIMITS.loginPerIp.name}:${ip}` },
      { limit: LIMITS.loginPerAccount, key: `${LIMITS.loginPerAccount.name}:${canonicalLogin(login)}` },
    ];
    const counts = await this.counters.hitMany(
      limits.map((l) => ({ key: l.key, hits: 1 })),
      LIMITS.loginPerIp.windowSeconds, // both limits share one window (15 minutes)
      { peek: login ? [failByAccount, failByIp] : [failByIp] },
    );
    const failures = (key: string) => counts.get(key)?.count ?? 0;
    const over = limits
      .map((l) => ({ ...l, row: counts.get(l.key) }))
      .find((l) => l.row && l.row.count > l.limit.max);
    const ofLogin = login ? failures(failByAccount) : 0;
    return {
      captchaRequired: overCaptchaThreshold(ofLogin, failures(failByIp)),
      loginFailures: ofLogin,
      assertAllowed() {
        if (!over?.row) return;
        throw new TooManyRequests(
          undefined,
          Math.max(1, Math.ceil((over.row.windowEndsAt.getTime() - Date.now()) / 1000)),
        );
      },
    };
  }

  /** A failed attempt counted; the counts it comes back with decide the next one's captcha, unread again. */
  async recordFailure(login: string, ip: string): Promise<{ captchaRequired: boolean }> {
    const byAccount = loginFailKey(login);
    const byIp = addressFailKey(ip);
    const counts = await this.counters.hitMany(
      [byAccount, byIp].map((key) => ({ key, hits: 1 })),
      WINDOW_SECONDS,
    );
    // hitMany answers with every key it counted.
    const failures = (key: string) => counts.get(key)!.count;
    // As in captchaRequired, an empty login is judged by its address alone.
    return { captchaRequired: overCaptchaThreshold(login ? failures(byAccount) : 0, failures(byIp)) };
  }

  async clear(login: string) {
    await this.counters.reset(loginFailKey(login));
  }
}
