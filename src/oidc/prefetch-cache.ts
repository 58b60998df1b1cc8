/**
 * What a token's read brought along (its grant, session, account), kept for the look-ups that
 * follow in the same request: each entry is served once, and only within `ttlMs` of its read.
 * Entries no look-up took (a request that failed before its look-ups) are swept once more than
 * `sweepAbove` are kept, so a long-running process does not grow with them.
 */
export class PrefetchCache<T> {
  readonly #entries = new Map<string, { at: number; value: T }>();

  constructor(
    private readonly ttlMs: number,
    private readonly sweepAbove = 1000,
    // Date.now read at each call, not kept: a test that fakes the clock replaces it afterwards.
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Entries kept, whether still fresh or not: what the sweep bounds. */
  get size(): number {
    return this.#entries.size;
  }

  /** Keeps `value` as read now, in place of what `key` held. */
  keep(key: string, value: T): void {
    const at = this.now();
    if (this.#entries.size > this.sweepAbove) {
      for (const [kept, entry] of this.#entries) if (at - entry.at > this.ttlMs) this.#entries.delete(kept);
    }
    this.#entries.set(key, { at, value });
  }

  /** The value kept under `key` if it is fresh; either way it is not served again. */
  take(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    return this.now() - entry.at <= this.ttlMs ? entry.value : undefined;
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  forgetStartingWith(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
