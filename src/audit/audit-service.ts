import type { JWK } from 'jose';
import { type ArchiveVerdict, checkArchiveFile } from './archive-check.js';
import { type ArchiveResult, archiveAuditRows } from './audit-archive.js';
import { type LinkAlgorithm, linkHolds } from './audit-chain.js';
import { AuditSealer, type CheckpointSettings } from './audit-sealer.js';
import type { AuditFilter, AuditRow, AuditStore, SealedRow } from './audit-store.js';
import type { AuditEventType, AuditMethod } from './audit-words.js';
import { type Checkpoint, readCheckpoint, readCheckpointDir } from './checkpoints.js';

export interface AuditEvent {
  type: AuditEventType;
  outcome: 'success' | 'failure' | 'info';
  accountId?: string | undefined;
  /** Who did it: 'user', 'admin:<client>', 'system'. */
  actor?: string;
  method?: AuditMethod;
  ip?: string;
  userAgent?: string;
  /** Already masked: never a whole ID number, name, password or token. */
  detail?: Record<string, unknown>;
}

/** The newest checkpoint kept outside the database: the furthest place in the chain it vouches for. */
export interface OutsideEnd {
  file: string;
  seq: number;
  id: number;
  /** When it was signed (ISO 8601). */
  signedAt: string;
}

export type AuditVerdict =
  | {
      ok: true;
      /**
       * The newest outside checkpoint, when any was given: the chain reaches it unchanged, and
       * `rowsAfter` rows were sealed after it (vouched for by the next one).
       */
      outsideEnd?: OutsideEnd & { rowsAfter: number };
      /** Sealed rows walked. */
      rows: number;
      /** Rows not chained yet: the sealer takes them within a second while a process runs. */
      pending: number;
      /** Checkpoints checked against the rows (with `checkpoints`). */
      checkpoints?: number;
      /** Rows before this place in the chain were archived; the walk started from its signed checkpoint. */
      archivedThrough?: number;
    }
  | {
      ok: false;
      rows: number;
      pending: number;
      brokenAt: number;
      reason: string;
      /** Set when the newest outside checkpoint lies past the database's end: rows were cut off. */
      cutOff?: OutsideEnd & { headSeq: number };
    };

/** Where `audit verify` looked for checkpoints kept outside the database. */
export type OutsideWitness =
  /** A checkpoint directory (AUDIT_CHECKPOINT_DIR or --checkpoints) and how many files it held. */
  | { kind: 'dir'; dir: string; files: number }
  /** Checkpoints only go to AUDIT_CHECKPOINT_URL: a service this command can not read back. */
  | { kind: 'url' }
  | { kind: 'none' };

/** A checkpoint as found outside the database: its file (or other origin) and its JWS. */
export interface WitnessedCheckpoint {
  file: string;
  jws: string;
}

/** The tamper-evident security log (等保 2.0 audit): one row per event, hash-chained by the sealer. */
export class AuditService {
  readonly sealer: AuditSealer;

  constructor(
    private readonly store: AuditStore,
    private readonly checkpointSettings?: CheckpointSettings,
    linkAlgorithm: LinkAlgorithm = 'sha256',
  ) {
    this.sealer = new AuditSealer(store, checkpointSettings, linkAlgorithm);
  }

  /** One plain insert; the sealer chains it moments later. Readers see it at once. */
  async record(event: AuditEvent): Promise<void> {
    await this.store.append({
      occurred_at: new Date(),
      account_id: event.accountId ?? null,
      actor: event.actor ?? 'user',
      type: event.type,
      method: event.method ?? null,
      outcome: event.outcome,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 300) ?? null,
      detail: event.detail ?? {},
    });
  }

  /** 登录记录: the last 90 days of an account's sign-ins and security events, sealed or not yet. */
  forAccount(accountId: string, days = 90) {
    return this.store.query({ accountId, since: new Date(Date.now() - days * 86_400_000), limit: 500 });
  }

  /** The admin API's listing: newest first, including rows the sealer has not chained yet. */
  query(filter: AuditFilter) {
    return this.store.query(filter);
  }

  /**
   * The chain as it stands now, for an export: what is pending is sealed first, and later
   * appends are left out, so the export ends at a fixed row however long the download takes.
   * The rows come in chain order, each naming its predecessor's hash.
   */
  async snapshot(): Promise<{ lastId: number; rows: AsyncGenerator<AuditRow> }> {
    await this.sealer.sealAll();
    const head = await this.store.head();
    return { lastId: head.sealed_id, rows: this.store.chain(head.base_seq, head.sealed_seq) };
  }

  /**
   * Walks the sealed chain from its start (genesis, or the signed checkpoint that archived rows
   * ended at) to the head; the first row whose link or content does not match is reported.
   * Given checkpoints kept outside the database, also checks that each one's row still has
   * the hash it signed: a tail deleted with the head reset, or a chain rewritten from some
   * row on, no longer matches them.
   */
  async verify(options: { checkpoints?: WitnessedCheckpoint[] } = {}): Promise<AuditVerdict> {
    // The head first: rows sealed while the walk runs lie beyond it and are left for next time.
    const head = await this.store.head();
    const pending = await this.store.pendingCount();
    let rows = 0;
    const broken = (
      brokenAt: number,
      reason: string,
      cutOff?: OutsideEnd & { headSeq: number },
    ): AuditVerdict => ({ ok: false, rows, pending, brokenAt, reason, ...(cutOff ? { cutOff } : {}) });

    const keys = options.checkpoints || head.base_checkpoint ? await this.#publicKeys() : [];
    if (head.base_checkpoint) {
      const base = await this.#read(head.base_checkpoint, keys);
      if (typeof base === 'string' || base.seq !== head.base_seq || base.hash !== head.base_hash)
        return broken(0, 'the kept chain does not start where a signed checkpoint says the archive ended');
    }
    // Checkpoints name places in the chain; those archived away are checked by the archive.
    const wanted = new Map<number, (Checkpoint & { file: string })[]>();
    let archivedCheckpoints = 0;
    const outside: (Checkpoint & { file: string })[] = [];
    for (const { file, jws } of options.checkpoints ?? []) {
      const checkpoint = await this.#read(jws, keys);
      if (typeof checkpoint === 'string') return broken(0, `checkpoint ${file}: ${checkpoint}`);
      outside.push({ ...checkpoint, file });
    }
    // The furthest place vouched for outside; checked first, as it is what a cut-off end betrays.
    const newest = outside.reduce<(Checkpoint & { file: string }) | undefined>(
      (a, b) => (!a || b.seq > a.seq || (b.seq === a.seq && b.iat > a.iat) ? b : a),
      undefined,
    );
    const outsideEnd = newest && {
      file: newest.file,
      seq: newest.seq,
      id: newest.id,
      signedAt: new Date(newest.iat * 1000).toISOString(),
    };
    if (outsideEnd && outsideEnd.seq > head.sealed_seq)
      return broken(
        outsideEnd.id,
        `checkpoint ${outsideEnd.file} names row ${outsideEnd.id} (chain position ${outsideEnd.seq}), past the head: the newest rows were deleted`,
        { ...outsideEnd, headSeq: head.sealed_seq },
      );
    for (const checkpoint of outside) {
      const { file } = checkpoint;
      if (checkpoint.seq < head.base_seq) archivedCheckpoints += 1;
      else if (checkpoint.seq === head.base_seq) {
        if (checkpoint.hash !== head.base_hash)
          return broken(checkpoint.id, `checkpoint ${file} does not match the start of the kept chain`);
      } else wanted.set(checkpoint.seq, [...(wanted.get(checkpoint.seq) ?? []), checkpoint]);
    }

    let prev = head.base_hash;
    let last: SealedRow | undefined;
    for await (const row of this.store.chain(head.base_seq, head.sealed_seq)) {
      rows += 1;
      if (row.prev_hash !== prev) return broken(row.id, 'a row before it is missing or was altered');
      if (!linkHolds(prev, row)) return broken(row.id, 'its content was altered');
      for (const checkpoint of wanted.get(row.seq) ?? []) {
        if (checkpoint.hash !== row.hash || checkpoint.id !== row.id)
          return broken(
            row.id,
            `it is not the row checkpoint ${checkpoint.file} signed: the chain was rewritten`,
          );
      }
      wanted.delete(row.seq);
      prev = row.hash;
      last = row;
    }
    // The newest rows have no successor to name them: the head still does, and checkpoints.
    if ((last?.seq ?? head.base_seq) !== head.sealed_seq || prev !== head.sealed_hash)
      return broken(last?.id ?? 0, 'the newest rows were deleted');
    for (const [checkpoint] of wanted.values())
      if (checkpoint) return broken(checkpoint.id, `the row checkpoint ${checkpoint.file} signed is missing`);

    return {
      ok: true,
      ...(outsideEnd ? { outsideEnd: { ...outsideEnd, rowsAfter: head.sealed_seq - outsideEnd.seq } } : {}),
      rows,
      pending,
      ...(options.checkpoints ? { checkpoints: options.checkpoints.length - archivedCheckpoints } : {}),
      ...(head.base_seq ? { archivedThrough: head.base_seq } : {}),
    };
  }

  /**
   * `verify`, with the end of the chain held against the checkpoint files in `dir` (by default
   * AUDIT_CHECKPOINT_DIR, which the first checkpoint written there makes), and where it looked:
   * what `unified-id audit verify` and the console's 校验 say in words (see end-of-chain.ts).
   */
  async verifyAgainstOutside(dir?: string): Promise<{ verdict: AuditVerdict; witness: OutsideWitness }> {
    const from = dir ?? this.checkpointSettings?.dir;
    if (!from) {
      return {
        verdict: await this.verify(),
        witness: { kind: this.checkpointSettings?.url ? 'url' : 'none' },
      };
    }
    const checkpoints = await readCheckpointDir(from).catch((err: NodeJS.ErrnoException) => {
      // A directory named on the command line must be there; the configured one may be still unmade.
      if (dir || err.code !== 'ENOENT') throw err;
      return [];
    });
    return {
      verdict: await this.verify({ checkpoints }),
      witness: { kind: 'dir', dir: from, files: checkpoints.length },
    };
  }

  /**
   * Archives sealed rows older than `retentionDays` (AUDIT_RETENTION_DAYS, at least 180) to an
   * NDJSON file in `dir` and removes them; see archiveAuditRows.
   */
  archive(dir: string, retentionDays: number, now?: Date): Promise<ArchiveResult> {
    return archiveAuditRows(this.store, { dir, retentionDays, ...(now ? { now } : {}) });
  }

  /** Re-checks an archive file on its own (see checkArchiveFile), with the provider's keys. */
  async verifyArchive(file: string): Promise<ArchiveVerdict> {
    const keys = await this.#publicKeys();
    return checkArchiveFile(file, (jws) => readCheckpoint(jws, keys, this.checkpointSettings!.issuer));
  }

  async #publicKeys() {
    if (!this.checkpointSettings) throw new Error('checking checkpoints needs the provider keys');
    return this.checkpointSettings.keys.verificationKeys();
  }

  /** The checkpoint's claims, or why it can not be trusted. */
  async #read(jws: string, keys: JWK[]) {
    try {
      return await readCheckpoint(jws, keys, this.checkpointSettings!.issuer);
    } catch (err) {
      return `not a checkpoint signed by this provider (${(err as Error).message})`;
    }
  }
}
