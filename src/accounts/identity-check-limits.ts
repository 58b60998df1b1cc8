import { TooManyRequests } from '../errors.js';
import type { Limit, RateLimiter } from '../ops/rate-limiter.js';

export const IDENTITY_CHECKS_SPENT = '今日验证次数已达上限，请明天再试';

export interface IdentityCheckSettings {
  perAccountPerDay: number;
  perIpPerDay: number;
  /** IDENTITY_VERIFIER_DAILY_LIMIT: calls to the paid verification service, all accounts together. */
  verifierPerDay: number;
}

const DAY = 24 * 3600;

/** Today in Beijing: the counters are per calendar day, as 今日 says. */
function beijingDate(now = Date.now()): string {
  return new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
}

/**
 * Limits on 实名认证 attempts, so that name + ID number pairs can not be tried in bulk against
 * the register and so the paid verification service can not be run up: per account and per
 * address a day, and a daily budget of verifier calls for the whole deployment.
 */
export class IdentityCheckLimits {
  readonly #perAccount: Limit;
  readonly #perIp: Limit;
  readonly #verifier: Limit;
  /** Notices to the holder of a tried ID number: a few a day, so they can not be used to flood a phone. */
  readonly #notices: Limit = { name: 'identity-notice:account', max: 3, windowSeconds: DAY };

  constructor(
    private readonly limiter: RateLimiter,
    settings: IdentityCheckSettings,
  ) {
    this.#perAccount = { name: 'identity:account', max: settings.perAccountPerDay, windowSeconds: DAY };
    this.#perIp = { name: 'identity:ip', max: settings.perIpPerDay, windowSeconds: DAY };
    this.#verifier = { name: 'identity:verifier', max: settings.verifierPerDay, windowSeconds: DAY };
  }

  /** Counts one attempt for the account and the address; throws once either has used today's. */
  async admit(input: { accountId: string; ip: string }): Promise<void> {
    const day = beijingDate();
    await this.#consume(this.#perAccount, `${day}:${input.accountId}`);
    await this.#consume(this.#perIp, `${day}:${input.ip}`);
  }

  /** Counts one call to the verification service; throws once today's budget is spent. */
  async spendVerifierCall(): Promise<void> {
    await this.#consume(this.#verifier, beijingDate());
  }

  /** Whether the holder of an ID number may be told (once more today) that it was tried elsewhere. */
  async mayNotifyHolder(holderId: string): Promise<boolean> {
    return this.limiter.consume(this.#notices, `${beijingDate()}:${holderId}`).then(
      () => true,
      (err) => {
        if (err instanceof TooManyRequests) return false;
        throw err;
      },
    );
  }

  async #consume(limit: Limit, subject: string): Promise<void> {
    await this.limiter.consume(limit, subject).catch((err) => {
      throw err instanceof TooManyRequests
        ? new TooManyRequests(IDENTITY_CHECKS_SPENT, err.retryAfterSeconds)
        : err;
    });
  }
}
