import { cookieHmacOf } from '../crypto/cookie-keys.js';
import { otherProfile } from '../crypto/profile.js';
import { type DataProtector, INDEX_PREFIX, SEAL_PREFIX } from '../crypto/sealed.js';
import {
  INDEX_SQL,
  nameOf,
  PROTECTED,
  type Protected,
  type RebuildableIndex,
  SEALED_SQL,
  type SealedColumn,
} from './crypto-inventory.js';
import type { CryptoStore } from './crypto-store.js';

export interface ProtectedStatus {
  name: string;
  kind: 'sealed' | 'index' | 'kept';
  /** Rows by algorithm. */
  rows: Record<string, number>;
  /** Rows not yet in the configured profile's algorithm. */
  behind: number;
  /** Why `crypto migrate` leaves these as they are. */
  kept?: string;
}

export interface CryptoStatus {
  profile: DataProtector['profile'];
  target: { sealed: string; index: string; auditChain: string; cookies: string; passwords: string };
  columns: ProtectedStatus[];
  cookies: { signing: string; alsoAccepted: string; stored: false };
}

export interface MigrationProgress {
  name: string;
  moved: number;
  /** Changed by a request while the batch ran (already in the new form, or moved on the next run). */
  raced: number;
  /** Values that failed to open: another key, or altered. Left as they are. */
  failed: number;
}

const TARGET = {
  standard: { auditChain: 'sha256', passwords: 'argon2id' },
  gm: { auditChain: 'sm3', passwords: 'hmac-sm3+argon2id' },
} as const;

const BATCH = 200;

/** `unified-id crypto status` and `migrate`: where each protected value stands, and moving it on. */
export class CryptoMigration {
  constructor(
    private readonly store: CryptoStore,
    private readonly protector: DataProtector,
  ) {}

  #target() {
    const profile = this.protector.profile;
    return {
      sealed: this.protector.sealAlgorithm,
      index: this.protector.indexAlgorithm,
      ...TARGET[profile],
      cookies: cookieHmacOf(profile),
    };
  }

  async status(): Promise<CryptoStatus> {
    const target = this.#target();
    const columns: ProtectedStatus[] = [];
    for (const p of PROTECTED) {
      const rows = await this.store.countByAlgorithm(p.table, p.column, algorithmSqlOf(p));
      const wanted = targetOf(p, target);
      const behind = Object.entries(rows)
        .filter(([algorithm]) => algorithm !== wanted)
        .reduce((sum, [, n]) => sum + n, 0);
      columns.push({
        name: nameOf(p),
        kind: p.kind,
        rows,
        behind,
        ...(p.kind === 'kept' ? { kept: p.why } : {}),
      });
    }
    return {
      profile: this.protector.profile,
      target,
      columns,
      cookies: {
        signing: target.cookies,
        alsoAccepted: cookieHmacOf(otherProfile(this.protector.profile)),
        stored: false,
      },
    };
  }

  /**
   * Moves every sealed column and rebuildable index to the configured profile, a batch at a time,
   * each row by compare-and-swap: the service keeps running, a crash loses nothing (each row is
   * either old or new, both readable) and a second run picks up what is left.
   */
  async migrate(onProgress: (p: MigrationProgress) => void): Promise<MigrationProgress[]> {
    const done: MigrationProgress[] = [];
    for (const p of PROTECTED) {
      if (p.kind === 'kept') continue;
      const progress: MigrationProgress = { name: nameOf(p), moved: 0, raced: 0, failed: 0 };
      const match = this.#notYetMoved(p);
      let after: string | undefined;
      for (;;) {
        const rows = await this.store.batch(
          {
            table: p.table,
            key: p.key,
            column: p.column,
            also: p.kind === 'index' ? [p.source, ...p.with] : [],
          },
          match,
          after,
          BATCH,
        );
        if (rows.length === 0) break;
        for (const row of rows) {
          const key = row[p.key]!;
          const previous = row[p.column]!;
          let next: string | undefined;
          try {
            next = p.kind === 'sealed' ? this.#resealed(p, key, previous) : this.#reindexed(p, key, row);
          } catch {
            progress.failed += 1;
            continue;
          }
          if (next === undefined || next === previous) continue;
          if (await this.store.swap(p, key, previous, next)) progress.moved += 1;
          else progress.raced += 1;
        }
        after = rows.at(-1)![p.key];
        onProgress({ ...progress });
      }
      done.push(progress);
    }
    return done;
  }

  #notYetMoved(p: SealedColumn | RebuildableIndex): { notPrefix: string } | { prefix: string } {
    if (p.kind === 'sealed') return { notPrefix: SEAL_PREFIX[this.protector.sealAlgorithm] };
    const prefix = INDEX_PREFIX[this.protector.indexAlgorithm];
    // The untagged (HMAC-SHA-256) index: the rows still to move are the tagged ones.
    return prefix ? { notPrefix: prefix } : { prefix: INDEX_PREFIX['hmac-sm3']! };
  }

  #resealed(p: SealedColumn, key: string, previous: string): string | undefined {
    return this.protector.reseal(previous, p.context(key));
  }

  #reindexed(p: RebuildableIndex, key: string, row: Record<string, string>): string | undefined {
    const source = row[p.source];
    if (!source) return undefined;
    const plain = this.protector.open(source, p.context(key));
    return this.protector.blindIndex(p.indexKind, p.input(plain, row));
  }
}

function algorithmSqlOf(p: Protected): string {
  if (p.kind === 'kept') return p.algorithmSql;
  return p.kind === 'sealed' ? SEALED_SQL(p.column) : INDEX_SQL(p.column);
}

function targetOf(p: Protected, target: CryptoStatus['target']): string {
  return target[p.kind === 'kept' ? p.target : p.kind];
}
