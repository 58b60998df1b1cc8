import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { linkHolds } from './audit-chain.js';
import type { AuditStore, CheckpointRow } from './audit-store.js';

/** Archive pieces are cut at checkpoints at least this many rows apart: one transaction each. */
const ROWS_PER_PIECE = 20_000;

export interface ArchiveResult {
  /** The NDJSON file written, or undefined when nothing was old enough. */
  file: string | undefined;
  rows: number;
  /** The chain position the kept rows now start after (0: nothing archived yet). */
  archivedThrough: number;
}

/**
 * Moves sealed rows older than the retention period into an NDJSON file and removes them.
 * The cut is always at a signed checkpoint signed before the cut-off (every row it covers is
 * older still), so the kept chain starts from a hash a checkpoint vouches for. The file holds a
 * `start` line (where the archived chain begins, and its checkpoint), the rows in chain order
 * with their hashes, and after each piece the checkpoint that covers it; it is written and
 * synced before anything is removed, and rows are removed only if they chain as the file says.
 */
export async function archiveAuditRows(
  store: AuditStore,
  options: { dir: string; retentionDays: number; now?: Date },
): Promise<ArchiveResult> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - options.retentionDays * 86_400_000);
  const head = await store.head();
  const pieces = pick(
    (await store.checkpointsToArchive(head.base_seq, cutoff)).filter((c) => c.seq <= head.sealed_seq),
    head.base_seq,
  );
  if (!pieces.length) return { file: undefined, rows: 0, archivedThrough: head.base_seq };

  await mkdir(options.dir, { recursive: true });
  const last = pieces.at(-1)!;
  const file = path.join(options.dir, `audit-${head.base_seq + 1}-${last.seq}.ndjson`);
  const out = await open(file, 'wx');
  let rows = 0;
  try {
    const line = (value: unknown) => out.write(`${JSON.stringify(value)}\n`);
    await line({ start: { seq: head.base_seq, hash: head.base_hash, checkpoint: head.base_checkpoint } });
    let prev = head.base_hash;
    let after = head.base_seq;
    for (const piece of pieces) {
      for await (const row of store.chain(after, piece.seq)) {
        if (row.prev_hash !== prev || !linkHolds(prev, row))
          throw new Error(`row ${row.id} does not chain: run unified-id audit verify; nothing was archived`);
        await line(row);
        prev = row.hash;
        rows += 1;
      }
      if (prev !== piece.hash)
        throw new Error(`the chain does not reach checkpoint ${piece.seq}; nothing was archived`);
      await line({ checkpoint: piece.jws, seq: piece.seq, id: piece.event_id, hash: piece.hash });
      after = piece.seq;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  for (const piece of pieces) await store.removeArchived(piece);
  return { file, rows, archivedThrough: last.seq };
}

/** Checkpoints to cut at: far enough apart, always ending at the newest one eligible. */
function pick(checkpoints: CheckpointRow[], baseSeq: number): CheckpointRow[] {
  const picked: CheckpointRow[] = [];
  let from = baseSeq;
  checkpoints.forEach((c, i) => {
    if (c.seq <= from) return;
    if (c.seq - from >= ROWS_PER_PIECE || i === checkpoints.length - 1) {
      picked.push(c);
      from = c.seq;
    }
  });
  return picked;
}
