import type { JWK } from 'jose';
import { type Logger, pino } from 'pino';
import { chainHash, type LinkAlgorithm } from './audit-chain.js';
import type { AuditStore, Link } from './audit-store.js';
import {
  type CheckpointKeys,
  checkpointSigningKey,
  publishCheckpoint,
  signCheckpoint,
} from './checkpoints.js';

/** What the sealer needs to sign and send checkpoints; without it, it only chains. */
export interface CheckpointSettings {
  keys: CheckpointKeys;
  issuer: string;
  dir: string | undefined;
  url: string | undefined;
  log: Logger;
}

export interface SealedCheckpoint {
  seq: number;
  id: number;
  hash: string;
  signedAt: Date;
  jws: string;
}

/** How often a process asks to seal: the longest a row waits for its hash, when all is well. */
const INTERVAL_MS = 250;
/** Rows chained per pass (one transaction); a full batch is followed at once by the next. */
const BATCH = 2000;
const CHECKPOINT_EVERY_MS = 60_000;
const KEY_CACHE_MS = 10_000;

/**
 * Chains the rows that appends insert unchained. Every process runs one; each pass is a
 * transaction that first takes the sealer's advisory lock without waiting, so exactly one
 * process chains at a time, the others skip the pass, and when the sealing process dies its
 * lock goes with its connection and the next pass of any other process carries on from the
 * head it left. Once a minute (when the chain has grown) the pass that seals also signs the
 * head as a checkpoint, which is then sent outside the database.
 */
export class AuditSealer {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = true;
  #publishing = new Set<Promise<void>>();
  #failing = false;
  /** The signing key, re-read every few seconds: a rotation reaches the checkpoints soon enough. */
  #signingKey: { jwk: JWK; readAt: number } | undefined;
  readonly #log: Logger;

  constructor(
    private readonly store: AuditStore,
    private readonly checkpoints?: CheckpointSettings,
    /** New links only: rows already sealed keep theirs (README: 密评, changing the profile). */
    private readonly linkAlgorithm: LinkAlgorithm = 'sha256',
  ) {
    this.#log = checkpoints?.log ?? pino({ level: 'silent' });
  }

  start(intervalMs = INTERVAL_MS) {
    this.#stopped = false;
    const tick = () => {
      this.#running = this.#drain()
        .then(() => {
          if (this.#failing) this.#log.info('audit sealing resumed');
          this.#failing = false;
        })
        .catch((err) => {
          // Once per outage, not four times a second.
          if (!this.#failing) this.#log.warn({ err: (err as Error).message }, 'audit sealing failed');
          this.#failing = true;
        })
        .finally(() => {
          if (this.#stopped) return;
          // A little jitter, so that the processes' passes do not line up.
          this.#timer = setTimeout(tick, intervalMs * (0.75 + Math.random() / 2));
          this.#timer.unref();
        });
    };
    tick();
  }

  /** Stops the timer; the pass under way finishes, and one last pass seals what is left. */
  async stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    // The last pass waits for the lock: skipped because another process held it at that instant,
    // it left this process's last rows to a sealer that may be stopping too, and both went.
    await this.#drain(true).catch((err) =>
      this.#log.warn({ err: (err as Error).message }, 'audit sealing failed'),
    );
    await Promise.all(this.#publishing);
  }

  /**
   * One pass: chains up to a batch of pending rows, and signs a checkpoint when one is due (or
   * `force`d). Undefined when another process is the sealer right now (unless `wait`).
   */
  async sealOnce(options: { wait?: boolean; force?: boolean } = {}) {
    const glance = await this.store.glance();
    const checkpointDue = (seq: number) =>
      Boolean(this.checkpoints) &&
      seq > 0 &&
      (options.force ||
        (seq > glance.checkpoint_seq &&
          Date.now() - (glance.checkpoint_at?.getTime() ?? 0) >= CHECKPOINT_EVERY_MS));
    // Most passes of most processes end here, after one statement.
    if (!glance.anyPending && !checkpointDue(glance.sealed_seq)) return { sealed: 0, checkpoint: undefined };
    // Read before the transaction: on the embedded database it holds the only connection.
    const mayCheckpoint =
      options.force || Date.now() - (glance.checkpoint_at?.getTime() ?? 0) >= CHECKPOINT_EVERY_MS;
    const jwk =
      this.checkpoints && mayCheckpoint
        ? await this.#currentSigningKey(this.checkpoints, options.force)
        : undefined;
    const pass = await this.store.asSealer(options.wait ?? false, async (session) => {
      const head = await session.head();
      const rows = await session.pending(BATCH);
      const links: Link[] = [];
      let { sealed_seq: seq, sealed_hash: prev, sealed_id: id } = head;
      for (const row of rows) {
        seq += 1;
        const hash = chainHash(prev, row, this.linkAlgorithm);
        links.push({ id: row.id, seq, prev_hash: prev, hash });
        prev = hash;
        id = row.id;
      }
      await session.link(links);
      let checkpoint: SealedCheckpoint | undefined;
      const lastAt = head.checkpoint_at?.getTime() ?? 0;
      const due =
        seq > 0 &&
        (options.force || (seq > head.checkpoint_seq && Date.now() - lastAt >= CHECKPOINT_EVERY_MS));
      if (jwk && this.checkpoints && due) {
        const signedAt = new Date();
        const jws = await signCheckpoint(jwk, this.checkpoints.issuer, { seq, id, hash: prev }, signedAt);
        await session.addCheckpoint({ seq, event_id: id, hash: prev, signed_at: signedAt, jws });
        checkpoint = { seq, id, hash: prev, signedAt, jws };
      }
      return { sealed: links.length, checkpoint };
    });
    if (!pass) return undefined;
    if (pass.checkpoint) this.#publish(pass.checkpoint);
    return { sealed: pass.sealed, checkpoint: pass.checkpoint };
  }

  /** Chains every pending row, waiting for the lock when another process holds it. */
  async sealAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const pass = await this.sealOnce({ wait: true });
      total += pass?.sealed ?? 0;
      if ((pass?.sealed ?? 0) < BATCH) break;
    }
    // A checkpoint these passes signed is out too by the time this returns.
    await Promise.all(this.#publishing);
    return total;
  }

  /** `unified-id audit checkpoint`: seals what is pending, signs the head now and sends it out. */
  async checkpointNow(): Promise<SealedCheckpoint | undefined> {
    if (!this.checkpoints) throw new Error('checkpoints need the provider keys');
    await this.sealAll();
    const pass = await this.sealOnce({ wait: true, force: true });
    await Promise.all(this.#publishing);
    return pass?.checkpoint;
  }

  /** Passes until a batch comes back short, so a backlog is caught up without waiting a tick. */
  async #drain(wait = false) {
    for (;;) {
      const pass = await this.sealOnce({ wait });
      if (!pass || pass.sealed < BATCH) return;
    }
  }

  /** Sealing goes on without a key (none made yet, or unreadable); only a forced checkpoint fails. */
  async #currentSigningKey(settings: CheckpointSettings, force = false): Promise<JWK | undefined> {
    if (!this.#signingKey || Date.now() - this.#signingKey.readAt > KEY_CACHE_MS) {
      try {
        this.#signingKey = { jwk: await checkpointSigningKey(settings.keys), readAt: Date.now() };
      } catch (err) {
        if (force) throw err;
        this.#log.warn({ err: (err as Error).message }, 'audit checkpoint skipped');
        return undefined;
      }
    }
    return this.#signingKey.jwk;
  }

  #publish(checkpoint: SealedCheckpoint) {
    const settings = this.checkpoints!;
    const sent = publishCheckpoint({ dir: settings.dir, url: settings.url, log: settings.log }, checkpoint)
      .catch(() => {})
      .finally(() => this.#publishing.delete(sent));
    this.#publishing.add(sent);
  }
}
