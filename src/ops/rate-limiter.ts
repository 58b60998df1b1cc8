import { TooManyRequests } from '../errors.js';
import type { RateLimitStore } from './rate-limit-store.js';

export interface Limit {
  /** A name for metrics and keys, e.g. `login:ip`. */
  name: string;
  max: number;
  windowSeconds: number;
}

/** Limits named in one place, so operators can see every throttle the provider applies. */
export const LIMITS = {
  loginPerIp: { name: 'login:ip', max: 60, windowSeconds: 15 * 60 },
  loginPerAccount: { name: 'login:account', max: 30, windowSeconds: 15 * 60 },
  /** 法人注册: representative name + ID checks from one address a day, match or not. */
  representativeChecksPerIp: { name: 'legal-rep-check:ip', max: 20, windowSeconds: 24 * 3600 },
  /** … and against one ID number a day (its blind index), whoever asks. */
  representativeChecksPerIdNumber: { name: 'legal-rep-check:id', max: 5, windowSeconds: 24 * 3600 },
  /** `max` is TOKEN_REQUESTS_PER_MINUTE; counted by BatchedLimiter. */
  tokenPerClient: { name: 'token:client', max: 6000, windowSeconds: 60 },
} satisfies Record<string, Limit>;

export class RateLimiter {
  constructor(private readonly store: RateLimitStore) {}

  /** Counts one attempt and throws TooManyRequests once the window's allowance is spent. */
  async consume(limit: Limit, subject: string): Promise<number> {
    const { count, windowEndsAt } = await this.store.hit(`${limit.name}:${subject}`, limit.windowSeconds);
    if (count > limit.max) {
      throw new TooManyRequests(
        undefined,
        Math.max(1, Math.ceil((windowEndsAt.getTime() - Date.now()) / 1000)),
      );
    }
    return count;
  }
}
