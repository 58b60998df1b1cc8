import { describe, expect, it } from 'vitest';
import { PrefetchCache } from './prefetch-cache.js';

/** A cache on a clock the test moves: a time-to-live of 250 ms, swept above three entries. */
function cacheAt(start = 1_000) {
  const clock = { now: start };
  const cache = new PrefetchCache<string>(250, 3, () => clock.now);
  return { cache, clock };
}

describe('the rows kept for the look-ups after a token read', () => {
  it('serves a kept row once, up to its time-to-live and not a millisecond after', () => {
    const { cache, clock } = cacheAt();
    cache.keep('Grant:id:g1', 'grant one');
    cache.keep('Grant:id:g2', 'grant two');
    clock.now += 250;
    expect(cache.take('Grant:id:g1')).toBe('grant one');
    expect(cache.take('Grant:id:g1')).toBeUndefined();
    clock.now += 1;
    // Too old to serve, and gone after the asking too.
    expect(cache.take('Grant:id:g2')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.take('Grant:id:never-kept')).toBeUndefined();
  });

  it('keeps the newest read of a key, with its own time', () => {
    const { cache, clock } = cacheAt();
    cache.keep('account a1', 'old');
    clock.now += 200;
    cache.keep('account a1', 'new');
    clock.now += 200;
    expect(cache.take('account a1')).toBe('new');
  });

  it('forgets one key, the keys of a prefix only, or everything', () => {
    const { cache } = cacheAt();
    cache.keep('Session:uid:s1', 's1');
    cache.keep('Session:uid:s2', 's2');
    cache.keep('Grant:id:g1', 'g1');
    cache.forget('Session:uid:s1');
    expect(cache.take('Session:uid:s1')).toBeUndefined();
    cache.keep('Session:uid:s1', 's1');
    cache.forgetStartingWith('Session:');
    expect(cache.size).toBe(1);
    expect(cache.take('Grant:id:g1')).toBe('g1');
    cache.keep('Grant:id:g1', 'g1');
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('sweeps the rows no look-up took once more than its bound are kept, and only those too old to serve', () => {
    const { cache, clock } = cacheAt();
    for (const key of ['a', 'b', 'c']) cache.keep(key, key);
    clock.now += 251;
    // Three kept, the bound: no sweep yet, however old they are.
    cache.keep('d', 'd');
    expect(cache.size).toBe(4);
    clock.now += 250;
    // Four kept: a, b and c are 501 ms old and go; d, read 250 ms ago, may still be asked for.
    cache.keep('e', 'e');
    expect(cache.size).toBe(2);
    expect(cache.take('d')).toBe('d');
    expect(cache.take('e')).toBe('e');
  });

  it('keeps every row while all are fresh, however many', () => {
    const { cache, clock } = cacheAt();
    for (let i = 0; i < 10; i++) {
      cache.keep(`k${i}`, `v${i}`);
      clock.now += 10;
    }
    expect(cache.size).toBe(10);
    expect(cache.take('k0')).toBe('v0');
  });

  it('reads the time of day when given no clock', () => {
    const cache = new PrefetchCache<string>(60_000);
    cache.keep('k', 'v');
    expect(cache.take('k')).toBe('v');
  });
});
