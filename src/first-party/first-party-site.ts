import type { Context } from 'koa';
import type { FlowStateKind } from '../state/flow-state.js';

/**
 * What sets one site of the provider itself (用户空间, 管理后台) apart from the other in how it
 * signs people in and keeps them signed in; everything else is shared (sign-in.ts,
 * session-guard.ts). Each is a client of its own provider, registered on every start.
 */
export interface FirstPartySite {
  /** In words, for the log. */
  name: string;
  clientId: string;
  /** Where its pages live, e.g. `/account`: the callback is `${path}/callback`. */
  path: string;
  /** Scopes it asks for (the console's `admin` makes the provider demand acr mfa). */
  scope: string;
  loginKind: Extract<FlowStateKind, 'account-login' | 'console-login'>;
  sessionKind: Extract<FlowStateKind, 'account-session' | 'console-session'>;
  /** Its session cookie (signed, httpOnly), sent only below `path`. */
  cookie: string;
  /** Seconds without a request after which its session ends (held in the database). */
  idleTimeoutSeconds: number;
  /** The acr its sessions must hold, checked on the code and on every request. */
  minimumAcr?: string;
  /**
   * Whether a sign-in with no session of its own must be a fresh login (prompt=login, and the
   * code's auth_time not older than the round trip). The console: always. 用户空间: when the
   * SSO session has been idle there.
   */
  freshSignIn(ctx: Context): Promise<boolean>;
  /** Its first page, where a sign-in with no page to return to lands. */
  home: string;
  /**
   * Where a sign-in whose code proved nothing lands: a page that does not start another silent
   * one at once (the console's home does: its sign-ins always show the login page).
   */
  refusedPath: string;
}

/** Whose session it is: the account, the SSO session it came from, and the acr it reached. */
export interface FirstPartySession {
  accountId: string;
  sessionUid: string;
  acr: string;
}
