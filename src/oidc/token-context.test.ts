import { describe, expect, it } from 'vitest';
import { askedRows, type Context, type ContextRow, contextEntries } from './token-context.js';

const ALL: ReadonlySet<Context> = new Set(['Grant', 'Session', 'Account']);
const TOKEN = { grantId: 'g1', sessionUid: 's1', expiresWithSession: true, accountId: 'a1' };
const GRANT = { model: 'Grant', id: 'g1' };
const SESSION = { model: 'Session', id: 'sess-id', uid: 's1' };
const ACCOUNT = { model: 'Account', id: 'a1' };

const entriesOf = (rows: ContextRow[], read = ALL, token: Record<string, unknown> = TOKEN) =>
  Object.fromEntries(contextEntries(token, rows, read));

describe("the look-ups a token's context answers", () => {
  it('answers the grant by id, the session by uid and the account, each with its own row', () => {
    expect(entriesOf([ACCOUNT, SESSION, GRANT])).toEqual({
      'Grant:id:g1': GRANT,
      'Session:uid:s1': SESSION,
      'account a1': ACCOUNT,
    });
  });

  it('answers "none" for a kind it read and did not find, never with a row of another model or value', () => {
    // Rows the functions never return: each has the right value under the wrong model, or the
    // right model with another value. Not one may answer a look-up it does not match.
    const strangers = [
      { model: 'Session', id: 'g1', uid: 'g1' },
      { model: 'Account', id: 'g1' },
      { model: 'Grant', id: 'g2' },
      { model: 'Grant', id: 'a1', uid: 's1' },
      { model: 'Account', id: 'a2', uid: 's1' },
      { model: 'Session', id: 'a1', uid: 's2' },
    ];
    expect(entriesOf(strangers)).toEqual({
      'Grant:id:g1': undefined,
      'Session:uid:s1': undefined,
      'account a1': undefined,
    });
  });

  it('keeps nothing of a kind the read did not bring (introspection reads no account)', () => {
    const rows = [GRANT, SESSION, ACCOUNT];
    expect(Object.keys(entriesOf(rows, new Set(['Grant', 'Session'])))).toEqual([
      'Grant:id:g1',
      'Session:uid:s1',
    ]);
    expect(Object.keys(entriesOf(rows, new Set(['Account'])))).toEqual(['account a1']);
    expect(entriesOf(rows, new Set())).toEqual({});
  });

  it('keeps only what the functions join on: a grantId, a sessionUid of a token that ends with its session, an accountId', () => {
    const rows = [GRANT, SESSION, ACCOUNT];
    // A token that does not end with its session: the functions join no session, so the cache
    // must not say "none" for it.
    expect(Object.keys(entriesOf(rows, ALL, { ...TOKEN, expiresWithSession: false }))).toEqual([
      'Grant:id:g1',
      'account a1',
    ]);
    expect(Object.keys(entriesOf(rows, ALL, { ...TOKEN, expiresWithSession: 'true' }))).toEqual([
      'Grant:id:g1',
      'account a1',
    ]);
    // Values that are not ids: nothing is kept under them, not even "none".
    const notIds = { grantId: 7, sessionUid: ['s1'], expiresWithSession: true, accountId: null };
    expect(contextEntries(notIds, rows, ALL)).toEqual([]);
    expect(contextEntries({}, rows, ALL)).toEqual([]);
  });
});

describe('the rows asked for among those read for one id', () => {
  it("are the asked models' rows of that id; the tokens among them are the ones whose context is kept", () => {
    const access = { model: 'AccessToken', id: 't1' };
    const refresh = { model: 'RefreshToken', id: 't1' };
    const code = { model: 'AuthorizationCode', id: 't1' };
    const clientCredentials = { model: 'ClientCredentials', id: 't1' };
    // Rows the functions never return with these: the context, a token of another id, an asked
    // model's row of another id.
    const others = [
      GRANT,
      SESSION,
      ACCOUNT,
      { model: 'AccessToken', id: 't2' },
      { model: 'Grant', id: 't1' },
    ];
    const read = [...others, access, refresh, code, clientCredentials];
    const { asked, tokens } = askedRows(
      read,
      ['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode'],
      't1',
    );
    expect(asked).toEqual([access, refresh, code, clientCredentials]);
    // A client-credentials token is no person's: it has no grant, session or account to keep.
    expect(tokens).toEqual([access, refresh, code]);
    expect(askedRows(read, ['Session'], 't1')).toEqual({ asked: [], tokens: [] });
  });
});
