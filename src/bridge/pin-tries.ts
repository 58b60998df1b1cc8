/**
 * Wrong PINs in a row, counted by the 证书助手 itself: a USB key locks after its own count, but
 * some count high or not at all (SoftHSM2), and a page that guesses should not get to try them
 * all at the speed of a loop. After `free` wrong PINs in a row the helper waits before it lets
 * the token see another PIN, longer after each further wrong one; a right PIN starts over.
 */
export class PinTries {
  #wrongInARow = 0;
  #pausedUntil = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly free = 3,
    private readonly firstPauseMs = 60_000,
    private readonly longestPauseMs = 15 * 60_000,
  ) {}

  /** Milliseconds until a PIN may be tried again; 0 when it may be now. */
  waitMs(): number {
    return Math.max(0, this.#pausedUntil - this.now());
  }

  wrong(): void {
    this.#wrongInARow += 1;
    const beyond = this.#wrongInARow - this.free;
    if (beyond < 0) return;
    const pause = Math.min(this.longestPauseMs, this.firstPauseMs * 2 ** Math.min(beyond, 20));
    this.#pausedUntil = this.now() + pause;
  }

  right(): void {
    this.#wrongInARow = 0;
    this.#pausedUntil = 0;
  }
}
