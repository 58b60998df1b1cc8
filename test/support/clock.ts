import { vi } from 'vitest';

/**
 * Moves this process's clock forward by `ms`, as if that long had passed: the provider runs in the
 * test's process and reads the clock for auth_time, max_age and token expiry, so a test about
 * time passing need not sleep through it. Only `Date` is replaced, and it keeps running from
 * there; timers are untouched. Undo with `resetClock` (an `afterEach` does).
 */
export function advanceClock(ms: number): void {
  setClock(Date.now() + ms);
}

/** Sets this process's clock to `at` (milliseconds since the epoch), from where it runs on. */
export function setClock(at: number): void {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(at);
}

/** Back to the real clock. */
export function resetClock(): void {
  vi.useRealTimers();
}
