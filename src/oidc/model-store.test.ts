import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresDatabase, databaseKinds } from '../../test/support/databases.js';
import { openEmbeddedCopy, runTempDir } from '../../test/support/embedded-template.js';
import { AccountStore } from '../accounts/account-store.js';
import { type Database, openDatabase, rowsOf } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { currentWriteBatch, withWriteBatch } from '../db/write-batch.js';
import { ModelStore } from './model-store.js';

describe.each(databaseKinds())('ModelStore (%s)', (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;
  let store: ModelStore;
  let accounts: AccountStore;

  beforeAll(async () => {
    const dataDir = runTempDir('uid-models-');
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      drop = pg.drop;
      database = openDatabase({ databaseUrl: pg.url, dataDir, poolMax: 2 });
    } else {
      database = openEmbeddedCopy(dataDir);
    }
    await migrate(database.db);
    store = new ModelStore(database.db);
    accounts = new AccountStore(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  /** An account with a session, a grant and a session-bound access token, as a sign-in leaves them. */
  async function signedIn() {
    const accountId = randomUUID();
    await accounts.insert({
      id: accountId,
      user_type: 'natural_person',
      phone: `+86139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
      password_hash: null,
      certification_level: 'L1',
    });
    const [sessionId, sessionUid, grantId, tokenId] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    await store.upsert('Session', sessionId, { uid: sessionUid, accountId }, 600);
    await store.upsert('Grant', grantId, { accountId, clientId: 'site' }, 600);
    await store.upsert(
      'AccessToken',
      tokenId,
      { accountId, grantId, sessionUid, expiresWithSession: true, clientId: 'site' },
      600,
    );
    return { accountId, sessionId, sessionUid, grantId, tokenId };
  }

  function countQueries() {
    const seen: string[] = [];
    const listener = (q: { sql: string }) => seen.push(q.sql);
    database.db.on('query', listener);
    return {
      seen,
      stop: () => database.db.off('query', listener),
    };
  }

  it('reads a token with its grant, session and account in one statement, each kept for one look-up', async () => {
    const s = await signedIn();
    const counted = countQueries();
    const token = await store.find('AccessToken', { id: s.tokenId });
    const session = await store.find('Session', { uid: s.sessionUid });
    const grant = await store.find('Grant', { id: s.grantId });
    const account = await store.takeAccount(s.accountId);
    counted.stop();
    expect(token).toMatchObject({ accountId: s.accountId, grantId: s.grantId });
    expect(session).toMatchObject({ uid: s.sessionUid });
    expect(grant).toMatchObject({ clientId: 'site' });
    expect(account).toMatchObject({ id: s.accountId, certification_level: 'L1' });
    expect(account?.created_at).toBeInstanceOf(Date);
    expect(counted.seen).toHaveLength(1);
    // Kept for one look-up only: the next one reads again.
    expect(store.takeAccount(s.accountId)).toBeUndefined();
    const again = countQueries();
    expect(await store.find('Session', { uid: s.sessionUid })).toMatchObject({ uid: s.sessionUid });
    again.stop();
    expect(again.seen).toHaveLength(1);
  });

  it('reads a value looked up under several token models at once with its context too (introspection)', async () => {
    const s = await signedIn();
    const counted = countQueries();
    // What oidc-provider's findToken does without a token_type_hint: three look-ups in one tick.
    const [access, machine, refresh] = await Promise.all([
      store.find('AccessToken', { id: s.tokenId }),
      store.find('ClientCredentials', { id: s.tokenId }),
      store.find('RefreshToken', { id: s.tokenId }),
    ]);
    const session = await store.find('Session', { uid: s.sessionUid });
    const grant = await store.find('Grant', { id: s.grantId });
    counted.stop();
    expect(access).toMatchObject({ grantId: s.grantId });
    expect(machine).toBeUndefined();
    expect(refresh).toBeUndefined();
    // The session and grant exist and are found: a read that did not fetch them never says "none".
    expect(session).toMatchObject({ uid: s.sessionUid });
    expect(grant).toMatchObject({ clientId: 'site' });
    expect(counted.seen).toHaveLength(1);
    // The account was not read with them (introspection never needs it): nothing is kept for it,
    // neither the row nor "none", so a look-up of it goes to the database.
    expect(store.takeAccount(s.accountId)).toBeUndefined();
  });

  it('answers a look-up of a grant, session or account it did not read from the database', async () => {
    const s = await signedIn();
    // A token look-up without a context read (a model other than a person's token, alone).
    await Promise.all([
      store.find('ClientCredentials', { id: s.tokenId }),
      store.find('Interaction', { id: s.tokenId }),
    ]);
    const counted = countQueries();
    expect(await store.find('Grant', { id: s.grantId })).toMatchObject({ clientId: 'site' });
    expect(await store.find('Session', { uid: s.sessionUid })).toMatchObject({ uid: s.sessionUid });
    counted.stop();
    expect(counted.seen).toHaveLength(2);
  });

  it('answers from what it read with a token only the look-up it was read for', async () => {
    const s = await signedIn();
    await store.find('AccessToken', { id: s.tokenId });
    // The session and grant read with the token, asked for under another model or with a
    // condition more: each answered by the database (none), not by what was kept.
    expect(await store.find('Interaction', { uid: s.sessionUid })).toBeUndefined();
    expect(await store.find('Grant', { id: s.grantId, uid: randomUUID() })).toBeUndefined();
    expect(await store.find('Grant', { id: s.grantId })).toMatchObject({ clientId: 'site' });
    // Without a token read first too: an id and another condition are both asked.
    expect(await store.find('Session', { id: s.sessionId, uid: randomUUID() })).toBeUndefined();
    expect(await store.find('Session', { id: s.sessionId, uid: s.sessionUid })).toMatchObject({
      accountId: s.accountId,
    });
  });

  it('finds the session of a token that does not end with it, though the token was read first', async () => {
    const s = await signedIn();
    const token = randomUUID();
    // A token that outlives its session (offline access): its read joins no session, so it must
    // not answer the session look-up with "none".
    await store.upsert(
      'RefreshToken',
      token,
      { accountId: s.accountId, grantId: s.grantId, sessionUid: s.sessionUid },
      600,
    );
    expect(await store.find('RefreshToken', { id: token })).toMatchObject({ grantId: s.grantId });
    expect(await store.find('Session', { uid: s.sessionUid })).toMatchObject({ accountId: s.accountId });
  });

  it('gives each of two callers of one row at the same moment a copy of its own', async () => {
    const s = await signedIn();
    // oidc-provider changes the payloads it holds (a refresh rotates, a session is touched).
    const [first, second] = await Promise.all([
      store.find('Session', { id: s.sessionId }),
      store.find('Session', { id: s.sessionId }),
    ]);
    first!['touched'] = true;
    expect(second).toEqual({ uid: s.sessionUid, accountId: s.accountId });
  });

  it('forgets what it kept with a token once this process writes the row', async () => {
    const s = await signedIn();
    await store.find('AccessToken', { id: s.tokenId });
    await store.upsert('Grant', s.grantId, { accountId: s.accountId, clientId: 'changed' }, 600);
    await store.upsert(
      'Session',
      s.sessionId,
      { uid: s.sessionUid, accountId: s.accountId, touched: 1 },
      600,
    );
    expect(await store.find('Grant', { id: s.grantId })).toMatchObject({ clientId: 'changed' });
    expect(await store.find('Session', { uid: s.sessionUid })).toMatchObject({ touched: 1 });

    // A destroy names no uid: every session kept is forgotten.
    const t = await signedIn();
    await store.find('AccessToken', { id: t.tokenId });
    await store.destroy('Session', t.sessionId);
    expect(await store.find('Session', { uid: t.sessionUid })).toBeUndefined();
  });

  it('forgets only the rows written: the rest read with a token still answers without a statement', async () => {
    const [a, b] = [await signedIn(), await signedIn()];
    await store.find('AccessToken', { id: a.tokenId });
    await store.find('AccessToken', { id: b.tokenId });
    await store.upsert('Grant', randomUUID(), { accountId: a.accountId, clientId: 'other' }, 600);
    await store.upsert('Session', a.sessionId, { uid: a.sessionUid, accountId: a.accountId }, 600);
    await store.destroy('Interaction', randomUUID());
    const counted = countQueries();
    expect(await store.find('Session', { uid: b.sessionUid })).toMatchObject({ accountId: b.accountId });
    expect(await store.find('Grant', { id: a.grantId })).toMatchObject({ clientId: 'site' });
    counted.stop();
    expect(counted.seen).toEqual([]);
    // A session destroyed (no uid named) forgets every session kept, and nothing else.
    await store.destroy('Session', randomUUID());
    const after = countQueries();
    expect(await store.find('Grant', { id: b.grantId })).toMatchObject({ clientId: 'site' });
    after.stop();
    expect(after.seen).toEqual([]);
  });

  it('answers from what it kept for a quarter of a second only: after that, the database', async () => {
    const s = await signedIn();
    const clock = vi.spyOn(Date, 'now');
    try {
      const now = Date.now();
      clock.mockReturnValue(now);
      await store.find('AccessToken', { id: s.tokenId });
      // Another process revokes the grant and ends the session meanwhile.
      await database.db('oidc_models').where({ model: 'Grant', id: s.grantId }).delete();
      await database.db('oidc_models').where({ model: 'Session', id: s.sessionId }).delete();
      clock.mockReturnValue(now + 250);
      expect(await store.find('Grant', { id: s.grantId })).toMatchObject({ clientId: 'site' });
      clock.mockReturnValue(now + 251);
      expect(await store.find('Session', { uid: s.sessionUid })).toBeUndefined();
    } finally {
      clock.mockRestore();
    }
  });

  it('fails every look-up by id of one moment when the database refuses their statement', async () => {
    // PostgreSQL's text can not hold a NUL character: the statement fails.
    const id = `bad\u0000${randomUUID()}`;
    const outcomes = await Promise.allSettled([
      store.find('AccessToken', { id }),
      store.find('RefreshToken', { id }),
      store.find('Session', { id }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('reports an ended session as gone to the look-up after the token', async () => {
    const s = await signedIn();
    await store.destroy('Session', s.sessionId);
    expect(await store.find('AccessToken', { id: s.tokenId })).toBeTruthy();
    expect(await store.find('Session', { uid: s.sessionUid })).toBeUndefined();
  });

  it('reads a refresh token or a code with its grant, session and account in one statement (refresh, code exchange)', async () => {
    for (const model of ['RefreshToken', 'AuthorizationCode']) {
      const s = await signedIn();
      const id = randomUUID();
      await store.upsert(
        model,
        id,
        { accountId: s.accountId, grantId: s.grantId, sessionUid: s.sessionUid, expiresWithSession: true },
        600,
      );
      const counted = countQueries();
      expect(await store.find(model, { id })).toMatchObject({ grantId: s.grantId });
      expect(await store.find('Grant', { id: s.grantId })).toMatchObject({ clientId: 'site' });
      expect(await store.find('Session', { uid: s.sessionUid })).toMatchObject({ uid: s.sessionUid });
      expect(await store.takeAccount(s.accountId)).toMatchObject({ id: s.accountId });
      counted.stop();
      expect(counted.seen, model).toHaveLength(1);
    }
  });

  it('commits only access tokens without waiting for the disk: codes, refresh tokens, sessions and grants wait', async () => {
    const asynchronous = (sql: string) => sql.includes("set_config('synchronous_commit', 'off', true)");
    for (const model of ['AccessToken', 'ClientCredentials']) {
      const counted = countQueries();
      await store.upsert(model, randomUUID(), { clientId: 'site' }, 600);
      counted.stop();
      expect(counted.seen.filter(asynchronous), model).toHaveLength(1);
    }
    // Lost in a crash, these would undo a sign-in or let a used code or refresh token be used again.
    for (const model of ['AuthorizationCode', 'RefreshToken', 'Session', 'Grant', 'Interaction']) {
      const counted = countQueries();
      await store.upsert(model, randomUUID(), { clientId: 'site' }, 600);
      counted.stop();
      expect(counted.seen, model).toHaveLength(1);
      expect(counted.seen.filter(asynchronous), model).toEqual([]);
    }
  });

  it('stores an access token with its expiry, by which it is found and cleaned up, or without one', async () => {
    const [expiring, lasting] = [randomUUID(), randomUUID()];
    await store.upsert('AccessToken', expiring, { clientId: 'site' }, 600);
    await store.upsert('AccessToken', lasting, { clientId: 'site' }, undefined);
    const rows = await database
      .db('oidc_models')
      .select('id', 'expires_at')
      .where({ model: 'AccessToken' })
      .whereIn('id', [expiring, lasting]);
    const expiresAt = new Map(rows.map((r: { id: string; expires_at: Date | null }) => [r.id, r.expires_at]));
    expect(Math.abs(new Date(expiresAt.get(expiring)!).getTime() - (Date.now() + 600_000))).toBeLessThan(
      60_000,
    );
    expect(expiresAt.get(lasting)).toBeNull();
    expect(await store.find('AccessToken', { id: lasting })).toMatchObject({ clientId: 'site' });
  });

  it('leaves no connection in asynchronous commit after storing access tokens', async () => {
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.upsert('ClientCredentials', randomUUID(), { clientId: 'machine' }, 600),
      ),
    );
    const settings = await Promise.all(
      Array.from({ length: 10 }, async () =>
        rowsOf<{ synchronous_commit: string }>(await database.db.raw('show synchronous_commit')),
      ),
    );
    expect(settings.flat().map((r) => r.synchronous_commit)).toEqual(Array(10).fill('on'));
  });

  it.runIf(kind === 'postgres')(
    'stores access tokens asked for at the same moment in a few statements, each readable once its save returns',
    async () => {
      const ids = Array.from({ length: 32 }, () => randomUUID());
      const counted = countQueries();
      await Promise.all(
        ids.map((id, i) => store.upsert('ClientCredentials', id, { clientId: `machine-${i}` }, 600)),
      );
      counted.stop();
      expect(counted.seen.length).toBeLessThanOrEqual(4);
      const found = await Promise.all(ids.map((id) => store.find('ClientCredentials', { id })));
      expect(found.map((p) => p?.['clientId'])).toEqual(ids.map((_, i) => `machine-${i}`));
    },
  );

  it('fails only the save the database refuses when it arrives with others', async () => {
    const ids = Array.from({ length: 8 }, () => randomUUID());
    const saves = ids.map((id, i) =>
      // A NUL character is text JavaScript can hold and PostgreSQL's jsonb can not.
      store.upsert('ClientCredentials', id, { clientId: i === 3 ? 'bad\u0000' : `machine-${i}` }, 600),
    );
    const outcomes = await Promise.allSettled(saves);
    expect(outcomes.map((o) => o.status)).toEqual(ids.map((_, i) => (i === 3 ? 'rejected' : 'fulfilled')));
    expect(await store.find('ClientCredentials', { id: ids[3]! })).toBeUndefined();
    expect(await store.find('ClientCredentials', { id: ids[7]! })).toMatchObject({ clientId: 'machine-7' });
  });

  it('keeps the last of two saves of one access token asked for at the same moment', async () => {
    const id = randomUUID();
    await Promise.all([
      store.upsert('ClientCredentials', randomUUID(), { clientId: 'other' }, 600),
      store.upsert('ClientCredentials', id, { clientId: 'first' }, 600),
      store.upsert('ClientCredentials', id, { clientId: 'second' }, 600),
    ]);
    expect(await store.find('ClientCredentials', { id })).toMatchObject({ clientId: 'second' });
  });

  it('lets exactly one caller consume a code, even five at the same moment', async () => {
    const [once, raced] = [randomUUID(), randomUUID()];
    await store.upsert('AuthorizationCode', once, { clientId: 'site' }, 60);
    const before = Math.floor(Date.now() / 1000);
    expect(await store.consume('AuthorizationCode', once)).toBe(true);
    const after = Math.ceil(Date.now() / 1000);
    expect(await store.consume('AuthorizationCode', once)).toBe(false);
    // Read back with the second it was consumed, as oidc-provider's own adapter records it.
    const { consumed } = (await store.find('AuthorizationCode', { id: once })) ?? {};
    expect(consumed).toBeGreaterThanOrEqual(before - 1);
    expect(consumed).toBeLessThanOrEqual(after + 1);

    await store.upsert('AuthorizationCode', raced, { clientId: 'site' }, 60);
    const winners = await Promise.all(
      Array.from({ length: 5 }, () => store.consume('AuthorizationCode', raced)),
    );
    expect(winners.filter(Boolean)).toHaveLength(1);
  });

  it('consumes one code only: another code stays unused', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    await store.upsert('AuthorizationCode', first, { clientId: 'site' }, 60);
    await store.upsert('AuthorizationCode', second, { clientId: 'site' }, 60);
    expect(await store.consume('AuthorizationCode', first)).toBe(true);
    expect(await store.find('AuthorizationCode', { id: second })).not.toHaveProperty('consumed');
    expect(await store.consume('AuthorizationCode', second)).toBe(true);
  });

  it('finds no session by uid once it has expired', async () => {
    const s = await signedIn();
    await database
      .db('oidc_models')
      .where({ model: 'Session', id: s.sessionId })
      .update({
        expires_at: new Date(Date.now() - 1000),
      });
    expect(await store.find('Session', { uid: s.sessionUid })).toBeUndefined();
  });

  it("withdraws one site's grant, codes and tokens of one account (取消授权), and nothing of another account or site", async () => {
    const mine = await signedIn();
    const other = await signedIn();
    const [refresh, code, otherSite] = [randomUUID(), randomUUID(), randomUUID()];
    await store.upsert(
      'RefreshToken',
      refresh,
      { accountId: mine.accountId, grantId: mine.grantId, clientId: 'site' },
      600,
    );
    await store.upsert('Grant', otherSite, { accountId: mine.accountId, clientId: 'elsewhere' }, 600);
    await store.upsert(
      'AuthorizationCode',
      code,
      { accountId: mine.accountId, grantId: mine.grantId, clientId: 'site' },
      60,
    );
    expect(await store.revokeClient(mine.accountId, 'site')).toBe(4);
    expect(await store.find('AuthorizationCode', { id: code })).toBeUndefined();
    expect(await store.find('Grant', { id: mine.grantId })).toBeUndefined();
    expect(await store.find('AccessToken', { id: mine.tokenId })).toBeUndefined();
    expect(await store.find('RefreshToken', { id: refresh })).toBeUndefined();
    expect(await store.find('Grant', { id: otherSite })).toBeDefined();
    expect(await store.find('Session', { id: mine.sessionId })).toBeDefined();
    expect(await store.find('Grant', { id: other.grantId })).toBeDefined();
    expect(await store.find('AccessToken', { id: other.tokenId })).toBeDefined();
  });

  it("lists and removes one account's sessions, grants and tokens, and nothing of another account", async () => {
    const mine = await signedIn();
    const other = await signedIn();
    expect((await store.sessionsOf(mine.accountId)).map((r) => [r.id, r.payload['uid']])).toEqual([
      [mine.sessionId, mine.sessionUid],
    ]);
    expect(await store.removeAllOf(mine.accountId)).toBe(3);
    expect(await store.sessionsOf(mine.accountId)).toEqual([]);
    expect(await store.find('AccessToken', { id: mine.tokenId })).toBeUndefined();
    expect((await store.sessionsOf(other.accountId)).map((r) => r.id)).toEqual([other.sessionId]);
    expect(await store.find('Grant', { id: other.grantId })).toBeDefined();
  });

  it("revokes a grant's codes and tokens, and leaves the sign-in in progress that names it", async () => {
    const s = await signedIn();
    const [refresh, code, interaction, otherToken] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await store.upsert('RefreshToken', refresh, { accountId: s.accountId, grantId: s.grantId }, 600);
    await store.upsert('AuthorizationCode', code, { accountId: s.accountId, grantId: s.grantId }, 60);
    await store.upsert('Interaction', interaction, { grantId: s.grantId }, 600);
    await store.upsert('RefreshToken', otherToken, { accountId: s.accountId, grantId: randomUUID() }, 600);
    await store.revokeByGrantId(s.grantId);
    expect(await store.find('RefreshToken', { id: refresh })).toBeUndefined();
    expect(await store.find('AuthorizationCode', { id: code })).toBeUndefined();
    expect(await store.find('AccessToken', { id: s.tokenId })).toBeUndefined();
    expect(await store.find('Interaction', { id: interaction })).toBeDefined();
    expect(await store.find('RefreshToken', { id: otherToken })).toBeDefined();
  });

  describe("in a request with a write batch (a sign-in's last request)", () => {
    it('sends the saves and the destroy as one statement, read back only after it', async () => {
      const [interaction, session, code] = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsert('Interaction', interaction, { uid: interaction }, 600);
      const counted = countQueries();
      let seenInside: unknown = 'not read';
      await withWriteBatch(database.db, async () => {
        await store.destroy('Interaction', interaction);
        await store.upsert('Session', session, { uid: randomUUID() }, 600);
        await store.upsert('AuthorizationCode', code, { clientId: 'site' }, 60);
        // Nothing has gone yet, and the batch says which table waits for it (any store's read of
        // oidc_models sends the batch first); a read of it here sends the batch and sees it.
        expect(counted.seen).toHaveLength(0);
        expect(currentWriteBatch()!.pendingTables).toEqual(new Set(['oidc_models']));
        seenInside = await store.find('AuthorizationCode', { id: code });
      });
      counted.stop();
      expect(seenInside).toMatchObject({ clientId: 'site' });
      expect(counted.seen[0]).toMatch(/^with w0 as \(delete/);
      expect(counted.seen).toHaveLength(2);
      expect(await store.find('Interaction', { id: interaction })).toBeUndefined();
      expect(await store.find('Session', { id: session })).toBeDefined();
    });

    it('destroys each of two rows destroyed in one batch', async () => {
      const [first, second] = [randomUUID(), randomUUID()];
      await store.upsert('Interaction', first, { uid: first }, 600);
      await store.upsert('Session', second, { uid: second }, 600);
      await withWriteBatch(database.db, async () => {
        await store.destroy('Interaction', first);
        await store.destroy('Session', second);
      });
      expect(await store.find('Interaction', { id: first })).toBeUndefined();
      expect(await store.find('Session', { id: second })).toBeUndefined();
    });

    it('keeps the last of two writes to one row, and writes all or nothing', async () => {
      const [saved, destroyed] = [randomUUID(), randomUUID()];
      await withWriteBatch(database.db, async () => {
        await store.upsert('Grant', destroyed, { clientId: 'a' }, 600);
        await store.destroy('Grant', destroyed);
        await store.upsert('Grant', saved, { clientId: 'a' }, 600);
        await store.upsert('Grant', saved, { clientId: 'b' }, 600);
      });
      expect(await store.find('Grant', { id: destroyed })).toBeUndefined();
      expect(await store.find('Grant', { id: saved })).toMatchObject({ clientId: 'b' });

      // A write that fails takes the batch's others with it, and the request fails.
      const lost = randomUUID();
      const failing = withWriteBatch(database.db, async () => {
        await store.upsert('Grant', lost, { clientId: 'a' }, 600);
        currentWriteBatch()!.defer('no_such_table', {
          sql: 'insert into no_such_table values (?)',
          bindings: [1],
        });
      });
      await expect(failing).rejects.toThrow(/no_such_table/);
      expect(await store.find('Grant', { id: lost })).toBeUndefined();
    });

    it('writes at once what a request leaves running after its batch was sent', async () => {
      const late = randomUUID();
      let leftRunning: Promise<void> | undefined;
      await withWriteBatch(database.db, async () => {
        leftRunning = (async () => {
          await new Promise((r) => setTimeout(r, 50));
          await store.upsert('Grant', late, { clientId: 'late' }, 600);
        })();
      });
      await leftRunning;
      expect(await store.find('Grant', { id: late })).toMatchObject({ clientId: 'late' });
    });
  });
});
