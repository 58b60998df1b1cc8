import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { GENESIS, linkHolds } from './audit-chain.js';
import type { SealedRow } from './audit-store.js';
import type { Checkpoint } from './checkpoints.js';

/** What re-checking an archive file found. */
export type ArchiveVerdict =
  | {
      ok: true;
      /** Rows in the file, all chaining from its start line to its last checkpoint. */
      rows: number;
      /** Signed checkpoints in the file (the start's included), each matching the row it names. */
      checkpoints: number;
      /** The chain positions the file covers: after `fromSeq`, up to and including `throughSeq`. */
      fromSeq: number;
      throughSeq: number;
    }
  | { ok: false; rows: number; line: number; reason: string };

type StartLine = { start: { seq: number; hash: string; checkpoint?: string | null } };
type CheckpointLine = { checkpoint: string; seq: number; id: number; hash: string };

/**
 * Re-checks an archive file of `audit archive` on its own, as an auditor would, without the
 * database: every row's link is recomputed from the start line's hash, and every checkpoint line
 * must be signed by the provider (`readCheckpoint` with its keys) and name the row just before
 * it. The start is taken from its signed checkpoint (or is the chain's genesis), and the file
 * must end at a checkpoint, so a row added, removed or altered anywhere, or a signed end cut off
 * with rows after it, is reported with the line it was found on.
 */
export async function checkArchiveFile(
  file: string,
  readCheckpoint: (jws: string) => Promise<Checkpoint>,
): Promise<ArchiveVerdict> {
  let rows = 0;
  let checkpoints = 0;
  let lineNo = 0;
  let fromSeq = 0;
  let prev: string | undefined;
  let seq = 0;
  let lastId = 0;
  let endsAtCheckpoint = false;
  const broken = (reason: string): ArchiveVerdict => ({ ok: false, rows, line: lineNo, reason });
  const signed = async (jws: string) => {
    try {
      return await readCheckpoint(jws);
    } catch (err) {
      return `not a checkpoint signed by this provider (${(err as Error).message})`;
    }
  };

  let handle: FileHandle;
  try {
    handle = await open(file);
  } catch (err) {
    return broken(`the file can not be read: ${(err as Error).message}`);
  }
  try {
    for await (const text of handle.readLines()) {
      lineNo += 1;
      if (!text.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return broken('not a JSON line');
      }
      if (prev === undefined) {
        const start = (value as Partial<StartLine>).start;
        if (!start || !Number.isSafeInteger(start.seq) || typeof start.hash !== 'string')
          return broken('the file does not begin with its start line');
        if (start.seq === 0) {
          if (start.hash !== GENESIS) return broken('a chain from its beginning starts from genesis');
        } else {
          const checkpoint = start.checkpoint ? await signed(start.checkpoint) : 'no signed checkpoint';
          if (typeof checkpoint === 'string') return broken(`the start: ${checkpoint}`);
          if (checkpoint.seq !== start.seq || checkpoint.hash !== start.hash)
            return broken('the start is not where its signed checkpoint says');
          checkpoints += 1;
        }
        fromSeq = start.seq;
        seq = start.seq;
        prev = start.hash;
        continue;
      }
      if (typeof (value as Partial<CheckpointLine>).checkpoint === 'string') {
        const line = value as CheckpointLine;
        const checkpoint = await signed(line.checkpoint);
        if (typeof checkpoint === 'string') return broken(checkpoint);
        if (checkpoint.seq !== seq || checkpoint.hash !== prev || checkpoint.id !== lastId)
          return broken(
            `the checkpoint signed chain position ${checkpoint.seq}, but the rows before it end at ${seq}: rows were added, removed or altered`,
          );
        checkpoints += 1;
        endsAtCheckpoint = true;
        continue;
      }
      const row = value as SealedRow;
      rows += 1;
      endsAtCheckpoint = false;
      if (row.seq !== seq + 1) return broken(`chain position ${row.seq} where ${seq + 1} was due`);
      if (row.prev_hash !== prev) return broken(`row ${row.id}: a row before it is missing or was altered`);
      if (!linkHolds(prev, row)) return broken(`row ${row.id}: its content was altered`);
      prev = row.hash;
      seq = row.seq;
      lastId = row.id;
    }
  } finally {
    await handle.close();
  }
  if (prev === undefined) return broken('the file is empty');
  if (!endsAtCheckpoint)
    return broken('the file does not end at a signed checkpoint: its end was cut off or rows were added');
  // `audit archive` names the file after the positions it holds: a whole piece cut off the end,
  // its checkpoint with it, leaves a file that still chains but no longer reaches its name.
  const named = /^audit-(\d+)-(\d+)\.ndjson$/.exec(path.basename(file));
  if (named && (Number(named[1]) !== fromSeq + 1 || Number(named[2]) !== seq))
    return broken(
      `the file holds chain positions ${fromSeq + 1}–${seq}, its name says ${named[1]}–${named[2]}`,
    );
  return { ok: true, rows, checkpoints, fromSeq, throughSeq: seq };
}
