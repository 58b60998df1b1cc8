import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mallocTrim, QUIET_MS, trimWhenIdle } from './memory-trim.js';

describe('trimWhenIdle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives memory back once after a whole quiet period, never while requests keep coming', () => {
    vi.useFakeTimers();
    const server = createServer();
    const trims: number[] = [];
    const stop = trimWhenIdle(server, (pad) => trims.push(pad));

    // Start-up counts as activity: the first period only ends it.
    vi.advanceTimersByTime(QUIET_MS);
    expect(trims).toHaveLength(0);
    vi.advanceTimersByTime(QUIET_MS);
    expect(trims).toEqual([0]);
    // Still quiet: nothing new to give back, and each call would hold the event loop.
    vi.advanceTimersByTime(5 * QUIET_MS);
    expect(trims).toHaveLength(1);

    // A busy server: a request in every period, no trim however long it lasts.
    for (let i = 0; i < 6; i++) {
      server.emit('request');
      vi.advanceTimersByTime(QUIET_MS);
    }
    expect(trims).toHaveLength(1);
    // Quiet again: one more, after a whole period without a request.
    vi.advanceTimersByTime(QUIET_MS);
    expect(trims).toHaveLength(2);

    stop();
    server.emit('request');
    vi.advanceTimersByTime(3 * QUIET_MS);
    expect(trims).toHaveLength(2);
    expect(server.listenerCount('request')).toBe(0);
  });

  it('finds glibc\u2019s malloc_trim where the process runs on glibc, and it returns', () => {
    const header = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    const trim = mallocTrim();
    expect(trim === undefined).toBe(header.glibcVersionRuntime === undefined);
    expect([0, 1]).toContain(trim?.(0) ?? 0);
  });
});
