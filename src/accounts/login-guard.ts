import type { RateLimitStore } from '../ops/rate-limit-store.js';

const WINDOW_SECONDS = 15 * 60;
/** After three failures for an account or from an address in 15 minutes, the captcha is asked for. */
const CAPTCHA_AFTER = 3;

/** Failure counters behind 登录失败处理, kept in the database so every process sees the same ones. */
export class LoginGuard {
  constructor(private readonly counters: RateLimitStore) {}

  private keys(login: string, ip: string) {
    return [`loginfail:account:${login.trim().toUpperCase()}`, `loginfail:ip:${ip}`];
  }

  async captchaRequired(login: string, ip: string): Promise<boolean> {
    const [byAccount, byIp] = this.keys(login, ip);
    const counts = await Promise.all([login ? this.counters.peek(byAccount!) : 0, this.counters.peek(byIp!)]);
    return counts.some((n) => n >= CAPTCHA_AFTER);
  }

  async recordFailure(login: string, ip: string) {
    for (const key of this.keys(login, ip)) await this.counters.hit(key, WINDOW_SECONDS);
  }

  async clear(login: string) {
    await this.counters.reset(this.keys(login, '')[0]!);
  }
}
