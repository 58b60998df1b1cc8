import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { deleteExpiredBatch, EXPIRING_TABLES } from '../db/expiring-rows.js';

const BATCH = 1000;

/** Deletes expired rows in small batches, so no sweep holds locks or scans for long. */
export class Sweeper {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  async sweepOnce(): Promise<number> {
    let total = 0;
    for (const target of EXPIRING_TABLES) {
      for (let i = 0; i < 20; i++) {
        const removed = await deleteExpiredBatch(this.db, target, BATCH);
        total += removed;
        if (removed < BATCH) break;
      }
    }
    return total;
  }

  start(intervalSeconds = 60) {
    this.#timer = setInterval(() => {
      this.sweepOnce()
        .then((n) => n && this.log.debug({ removed: n }, 'expired rows swept'))
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'sweep failed'));
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  stop() {
    clearInterval(this.#timer);
  }
}
