import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountRow } from '../../accounts/account-store.js';
import type { AuditMethod, MethodPartNames } from '../../audit/audit-words.js';
import type { Config } from '../../config.js';
import type { DeclaredFlowState } from '../../state/flow-state.js';
import type { Factor, FactorSpec, FactorTable } from '../assurance.js';
import type { VerifiedSignIn } from '../complete-login.js';
import type { FlowDeps } from '../flow-kit.js';
import type { Interaction } from '../interaction.js';

/** The two tabs of the login page. */
export type UserTab = 'natural' | 'legal';

/** Draws the login page (with the registered methods) for a method that shows it again. */
export interface LoginPage {
  render(ctx: Context, interaction: Interaction, data?: Record<string, unknown>): Promise<void>;
  /** The page's data for a method's form, to re-show it with an error. */
  data(ctx: Context, interaction: Interaction, method: string): Promise<Record<string, unknown>>;
}

/**
 * What a method builds its own dependencies from: the interaction flows' common wiring, the
 * application's services (as app/services.ts builds them) and its settings. A method names, in
 * the type of its `deps`, the part it reads; the composition root's call then fails to compile
 * when the application does not have it.
 */
export interface MethodSources<S = unknown> {
  flow: FlowDeps;
  services: S;
  config: Config;
  /** Every registered method's factors: what a method that calls completeLogin itself hands it. */
  factors: FactorTable;
}

/** The login page's form was answered by the method itself (a code sent), not a sign-in. */
export const ANSWERED = Symbol('answered');
export type Answered = typeof ANSWERED;

/** What a method proved: the account and its factors; completeLogin does the rest. */
export interface Proven extends Omit<VerifiedSignIn, 'stepUp'> {
  /**
   * Shown, with 继续, before the browser goes on; not when the sign-in still needs 两步验证
   * (the notice may say more than a first factor should learn).
   */
  notice?: { title: string; message: string };
}

/** One submitted form of a method, opened by the common handler (interaction found, CSRF checked). */
export interface Submission {
  ctx: Context;
  interaction: Interaction;
  /**
   * What the page shows again if the method refuses: the method adds what it learnt (the
   * captcha is now required, say) before it throws.
   */
  page: Record<string, unknown>;
  /** 获取验证码 on this form: the code is remembered under `target`, the page drawn again. */
  codeSent(sent: { target: string; notice: string }): Promise<Answered>;
}

/** A method's form, posted to `/interaction/:uid/<action>`. */
export interface MethodForm<D> {
  /**
   * Its sub-tab on the login page: the label, the partial that draws its fields (in views/, or
   * `@name` of one the method declares in `views`), and the `?tab=<query>` that chooses it (the
   * tab's first form needs none). Without it the form is on a page of the method's own.
   */
  tab?: { label: string; view: string; query?: string };
  /** Where the form posts, under /interaction/:uid/. */
  action: string;
  /**
   * `page`: an HTML form answered with the login page again on a refusal; `script`: the page's
   * script posts JSON (CSRF in x-csrf-token) and reads `{redirectTo}` or `{error}`.
   */
  answer?: 'page' | 'script';
  /** What the page shows again beyond the login page itself (the typed login, say). */
  page?(ctx: Context, interaction: Interaction, deps: D): Promise<Record<string, unknown>>;
  /** Turns the submitted form into what was proven; a refusal is thrown (a typed AppError). */
  prove(submission: Submission, deps: D): Promise<Proven | Answered>;
}

/** One step-up form of a factor, opened by the step-up page (interaction found, CSRF checked). */
export interface StepUpSubmission {
  ctx: Context;
  interaction: Interaction;
  account: AccountRow;
  /** 获取验证码 on the step-up page. */
  codeSent(sent: { target: string; notice: string }): Promise<Answered>;
}

/** A factor the step-up page can ask of a signed-in account. */
export interface StepUpFactor<D> {
  factor: Factor;
  /**
   * Ask it before those without (after Alipay, which does not count towards mfa, an SMS code
   * before the password), when none alone reaches the level asked for.
   */
  first?: boolean;
  /** Whether the account can present it (a phone to send a code to, a password set). */
  available(account: AccountRow): boolean;
  /** Its part of the step-up form: a partial in views/. */
  view: string;
  /** What its part shows (the masked phone, whether a code was sent). */
  page?(
    ctx: Context,
    interaction: Interaction,
    account: AccountRow,
    deps: D,
  ): Promise<Record<string, unknown>>;
  /** Checks the submitted form: returns when the factor was proved; a refusal is thrown. */
  prove(submission: StepUpSubmission, deps: D): Promise<Answered | undefined>;
  /** Its name in the audit log of a step-up (`step_up` with this method). */
  audited: AuditMethod;
}

/**
 * One way into an account (Kratos calls it a strategy). Its folder under src/flows/methods/
 * holds all of it; the registry (methods/index.ts) lists it, and from that list come the login
 * page's tabs, forms and links, the table of factors (acr and amr), the step-up page's choices
 * and the routes. A form method only proves: the common handler (method-form.ts) opens every
 * submission and hands what was proven to completeLogin, which finishes every sign-in alike.
 *
 * `Sources` is the part of MethodSources the method reads; `D` what it builds from it.
 */
export interface LoginMethod<Sources = never, D = unknown> {
  /** Stable name: the table test and the registry key. */
  id: string;
  /** The tab of the login page it belongs to. */
  tab: UserTab;
  /** The factors it can prove (RFC 8176 amr values and their kind). */
  factors: readonly FactorSpec[];
  /**
   * The kinds of flow state it keeps for itself between its pages (declareFlowState): taken by
   * FlowStates when the routes are mounted, which refuses a name another kind has.
   */
  flowStates?: readonly DeclaredFlowState[];
  /** Builds what it uses, once, when the routes are mounted. */
  deps: (sources: Sources) => D;
  /** Whether this deployment offers it (Alipay needs its settings). */
  offered?: (deps: D) => boolean;
  /** A form of its own on its tab, a sub-tab drawn by a partial in views/. */
  form?: MethodForm<D>;
  /** A link under the forms, to the method's own page (a path under /interaction/:uid). */
  link?: { label: string; path: string; style: 'button' | 'link' };
  /**
   * The words it writes in the audit log (`method`) that the log does not know yet, with their
   * Chinese names (src/audit/audit-words.ts names the product's own). Each is first added to
   * MethodParts by the method's module (`declare module`), so a misspelt word does not compile.
   */
  auditNames?: MethodPartNames;
  /** Templates of its own, kept in its folder: drawn as `@<name>` (an `include` too). */
  views?: Record<string, URL>;
  /** A factor it lets a signed-in account add on the step-up page. */
  stepUp?: StepUpFactor<D>;
  /** Its own pages beyond the form (a page of its own, a round trip to another party). */
  routes?: (router: Router, deps: D, kit: MethodKit) => void;
}

/** What the interaction router lends a method's own pages (method-form.ts builds it). */
export interface MethodKit {
  loginPage: LoginPage;
  /**
   * Ends a sign-in a method proved on a page of its own as the form handler ends a form's:
   * completeLogin, then 两步验证, the notice, or on to the site. A method never calls
   * completeLogin itself.
   */
  finish(ctx: Context, interaction: Interaction, proven: Proven): Promise<void>;
}

/** A registered method, whatever it reads and builds. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds methods of every kind of dependencies
export type AnyLoginMethod = LoginMethod<any, any>;
