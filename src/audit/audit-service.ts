import { createHash } from 'node:crypto';
import type { AuditFilter, AuditRow, AuditStore } from './audit-store.js';

export interface AuditEvent {
  type: string;
  outcome: 'success' | 'failure' | 'info';
  accountId?: string | undefined;
  /** Who did it: 'user', 'admin:<client>', 'system'. */
  actor?: string;
  method?: string;
  ip?: string;
  userAgent?: string;
  /** Already masked: never a whole ID number, name, password or token. */
  detail?: Record<string, unknown>;
}

type Hashed = Omit<AuditRow, 'id' | 'hash' | 'prev_hash'>;

/** JSON with sorted keys: jsonb does not keep the order the row was written in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** What a row's hash covers besides its predecessor's hash. */
function contentOf(row: Hashed): string {
  return JSON.stringify([
    new Date(row.occurred_at).toISOString(),
    row.account_id,
    row.actor,
    row.type,
    row.method,
    row.outcome,
    row.ip,
    row.user_agent,
    canonical(row.detail),
  ]);
}

/** The same hash the store computes in SQL when it appends (sha256 of prev, "\n", content). */
function contentHash(prevHash: string, row: Hashed): string {
  return createHash('sha256').update(prevHash).update('\n').update(contentOf(row)).digest('hex');
}

/** The tamper-evident security log (等保 2.0 audit): one row per event, hash-chained. */
export class AuditService {
  constructor(private readonly store: AuditStore) {}

  async record(event: AuditEvent): Promise<void> {
    const row: Hashed = {
      occurred_at: new Date(),
      account_id: event.accountId ?? null,
      actor: event.actor ?? 'user',
      type: event.type,
      method: event.method ?? null,
      outcome: event.outcome,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 300) ?? null,
      detail: event.detail ?? {},
    };
    await this.store.append(row, contentOf(row));
  }

  /** 登录记录: the last 90 days of an account's sign-ins and security events. */
  forAccount(accountId: string, days = 90) {
    return this.store.query({ accountId, since: new Date(Date.now() - days * 86_400_000), limit: 500 });
  }

  /** The admin API's listing: newest first. */
  query(filter: AuditFilter) {
    return this.store.query(filter);
  }

  /**
   * The chain as it stands now, for an export: later appends are left out, so the export
   * ends at a fixed row however long the download takes.
   */
  async snapshot(): Promise<{ lastId: number; rows: AsyncGenerator<AuditRow> }> {
    const lastId = await this.store.lastId();
    return { lastId, rows: this.store.all(lastId) };
  }

  /** Walks the chain; the first row whose link or content does not match is reported. */
  async verify(): Promise<
    { ok: true; rows: number } | { ok: false; rows: number; brokenAt: number; reason: string }
  > {
    // The head is read first: rows appended while the walk runs must not look like a lost tail.
    const head = await this.store.headHash();
    let headSeen = head === 'genesis';
    let prev = 'genesis';
    let rows = 0;
    let lastId = 0;
    for await (const row of this.store.all()) {
      rows += 1;
      if (row.prev_hash !== prev)
        return {
          ok: false,
          rows,
          brokenAt: Number(row.id),
          reason: 'a row before it is missing or was altered',
        };
      if (contentHash(prev, row) !== row.hash)
        return { ok: false, rows, brokenAt: Number(row.id), reason: 'its content was altered' };
      prev = row.hash;
      lastId = Number(row.id);
      if (row.hash === head) headSeen = true;
    }
    // The newest rows have no successor to name them: the head still does.
    if (!headSeen) {
      return { ok: false, rows, brokenAt: lastId, reason: 'the newest rows were deleted' };
    }
    return { ok: true, rows };
  }
}
