import type { Server } from 'node:http';
import koffi from 'koffi';

/** A server that has answered no request for this long is idle, and gives its free memory back. */
export const QUIET_MS = 10_000;

export type Trim = (pad: number) => number;

/** glibc's malloc_trim, or nothing where the C library has none (musl, macOS, Windows). */
export function mallocTrim(): Trim | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as Trim;
  } catch {
    return undefined;
  }
}

/**
 * glibc keeps what a thread freed in that thread's malloc arena: the embedded database's start-up,
 * migrations and the first requests leave tens of MiB of free pages in the arenas of the process's
 * threads, resident for the process's life. `malloc_trim(0)` hands every arena's free pages back
 * (measured: an embedded-database server idle at 260 MiB, 205 after one call). A call holds the
 * event loop for 5–20 ms, so it is made only once a server has been quiet for a whole period
 * after start-up or after requests, never while it is busy.
 */
export function trimWhenIdle(server: Server, trim: Trim | undefined = mallocTrim()): () => void {
  if (!trim) return () => {};
  let served = true; // start-up's own allocations count as activity
  let trimmed = false;
  const onRequest = () => {
    served = true;
  };
  server.on('request', onRequest);
  const timer = setInterval(() => {
    if (served) {
      served = false;
      trimmed = false;
    } else if (!trimmed) {
      trimmed = true;
      trim(0);
    }
  }, QUIET_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('request', onRequest);
  };
}
