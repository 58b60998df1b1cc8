import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { statementsOf } from '../../test/support/statements.js';
import { type Database, PERIODIC_STATEMENT } from '../db/database.js';
import { RateLimitStore } from './rate-limit-store.js';

// What the counters' statements look like to whoever reads the statement log (pg_stat_statements,
// the bench's count per request in bench/README.md): a request's own, or a timer's marked periodic.
// The counting itself is tried by the tests of the limiters and the login guard.

let database: Database;
let store: RateLimitStore;

beforeAll(() => {
  database = openEmbeddedCopy();
  store = new RateLimitStore(database.db);
});
afterAll(() => database?.close());

describe('the statement that adds hits', () => {
  it("is counted as the request's own unless it is a timer's", async () => {
    let total: number | undefined;
    const request = await statementsOf(database.db, async () => {
      total = (await store.hitMany([{ key: 'rls:a', hits: 2 }], 60)).get('rls:a')?.count;
    });
    expect(total).toBe(2);
    expect(request).toHaveLength(1);
    expect(request[0]!.startsWith(PERIODIC_STATEMENT)).toBe(false);

    const timer = await statementsOf(database.db, async () => {
      total = (await store.hitMany([{ key: 'rls:a', hits: 1 }], 60, { periodic: true })).get('rls:a')?.count;
    });
    expect(total).toBe(3);
    expect(timer).toHaveLength(1);
    expect(timer[0]!.startsWith(`${PERIODIC_STATEMENT} `)).toBe(true);
  });
});
