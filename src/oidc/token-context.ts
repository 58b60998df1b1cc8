/** What a token's read may bring along: the rows oidc-provider looks up right after it. */
export type Context = 'Grant' | 'Session' | 'Account';

/** Tokens of a person: oidc-provider looks up their Grant, Session and account next. */
export const TOKENS: ReadonlySet<string> = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode']);

/** A row as the context functions (migrations 009 and 011) return it: its model, id and uid. */
export interface ContextRow {
  model: string;
  id?: string | undefined;
  uid?: string | null | undefined;
}

/**
 * The look-ups that the rows read alongside a token answer, each under the key of its look-up
 * (a grant by id, a session by uid, the account), with the row or undefined: a grant, session or
 * account that is gone is "none", the answer the look-up would get.
 *
 * A cache must never answer "absent" for what it did not read: only the kinds in `read` are
 * kept, and each only under the condition on which the SQL functions join it (a grantId, a
 * sessionUid with expiresWithSession, an accountId), and with the row of exactly that model and
 * value. Anything else is left to the database.
 */
export function contextEntries<R extends ContextRow>(
  token: Record<string, unknown>,
  rows: readonly R[],
  read: ReadonlySet<Context>,
): [key: string, row: R | undefined][] {
  const entries: [string, R | undefined][] = [];
  const { grantId, accountId, sessionUid } = token;
  if (read.has('Grant') && typeof grantId === 'string')
    entries.push([`Grant:id:${grantId}`, rows.find((r) => r.model === 'Grant' && r.id === grantId)]);
  if (read.has('Session') && token['expiresWithSession'] === true && typeof sessionUid === 'string')
    entries.push([
      `Session:uid:${sessionUid}`,
      rows.find((r) => r.model === 'Session' && r.uid === sessionUid),
    ]);
  if (read.has('Account') && typeof accountId === 'string')
    entries.push([`account ${accountId}`, rows.find((r) => r.model === 'Account' && r.id === accountId)]);
  return entries;
}

/**
 * Of the rows read for one id under some models (the asked tokens and their context), the ones
 * asked for, and among them the tokens whose context the rows carry: no context row answers a
 * look-up of a token, and no row that is not a person's token has its context kept.
 */
export function askedRows<R extends ContextRow>(
  rows: readonly R[],
  models: readonly string[],
  id: string,
): { asked: R[]; tokens: R[] } {
  const asked = rows.filter((r) => models.includes(r.model) && r.id === id);
  return { asked, tokens: asked.filter((r) => TOKENS.has(r.model)) };
}
