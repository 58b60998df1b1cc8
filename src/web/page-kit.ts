import type { Context } from 'koa';
import type { z } from 'zod';
import { type AppError, type FieldProblem, FormInvalid, shownOnForm, TooManyRequests } from '../errors.js';
import { field, rawField } from './body.js';
import type { Csrf } from './csrf.js';
import type { Views } from './views.js';

// The one page kit: every page of the sign-in flows, 用户空间 and the console is drawn by
// drawPage and runs its form's action through actOnPage, so a refused form looks and behaves
// the same everywhere: each problem beside its field and in a summary at the top, the
// passwords that were cleared named beside their fields, the rest kept as typed.

/** What a page is drawn from: its template's data. */
export type PageData = Record<string, unknown>;

/** Draws `view` (a template in views/) with the CSRF token every form carries; never cached. */
export function drawPage(ctx: Context, deps: { views: Views; csrf: Csrf }, view: string, data: PageData) {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = deps.views.render(view, { csrf: deps.csrf.token(ctx), ...data });
}

/**
 * Runs a form's action; an error the person can act on draws the page again through `draw`,
 * with the error's problems (see errorsOnPage) added to `page`, or answers a page script as
 * JSON. A page given as a function is worked out only then (a success never draws it).
 */
export function actOnPage<T>(
  ctx: Context,
  draw: (data: PageData) => unknown,
  page: PageData | (() => Promise<PageData>),
  action: () => Promise<T>,
): Promise<T | undefined> {
  return onFormError(ctx, action, async (err) =>
    wantsJson(ctx)
      ? jsonError(ctx, err)
      : draw({ ...(typeof page === 'function' ? await page() : page), ...errorsOnPage(ctx, err) }),
  );
}

/**
 * The typed errors of services that belong to one field whatever the form: a service does not
 * know the form it serves, but a wrong captcha is always the captcha's.
 */
const FIELD_OF_ERROR: Readonly<Record<string, string>> = {
  captcha_wrong: 'captcha',
  captcha_missing: 'captcha',
  sms_code_wrong: 'sms_code',
  sms_code_expired: 'sms_code',
};

/** Every password field of our forms: a browser never gets them back, so the page says so. */
export const PASSWORD_FIELDS: readonly string[] = [
  'password',
  'password_confirm',
  'current_password',
  'new_password',
  'new_password_confirm',
  'phone_password',
];

/** The password fields this request carried typed: drawn again empty, each says 请重新输入密码. */
export function passwordsTyped(ctx: Context): string[] {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  return PASSWORD_FIELDS.filter((name) => typeof body[name] === 'string' && body[name] !== '');
}

/**
 * What a page shows of an error: `errors`, the problems of fields (each beside its field and
 * listed at the top), or `error`, one message about the whole form (账号或密码错误); and
 * `retype`, the password fields that come back empty.
 */
export function errorsOnPage(
  ctx: Context,
  err: AppError,
): { error?: string; errors: FieldProblem[]; retype: string[] } {
  const retype = passwordsTyped(ctx);
  if (err instanceof FormInvalid) return { errors: [...err.problems], retype };
  const fieldName = FIELD_OF_ERROR[err.code];
  if (fieldName) return { errors: [{ field: fieldName, message: err.userMessage }], retype };
  return { error: err.userMessage, errors: [], retype };
}

/**
 * For a service's FormInvalid, which names its fields by its own keys: the same problems under
 * the form's names (`rename`). Use as `.catch(asFormFields({ idNumber: 'id_number' }))`.
 */
export function asFormFields(rename: Readonly<Record<string, string>>) {
  return (err: unknown): never => {
    if (!(err instanceof FormInvalid)) throw err;
    throw new FormInvalid(underFormNames(err.problems, rename));
  };
}

/** A service's problems under the form's names for its fields; a key not in `rename` stays. */
function underFormNames(
  problems: readonly FieldProblem[],
  rename: Readonly<Record<string, string>>,
): FieldProblem[] {
  return problems.map((p) => ({ field: rename[p.field] ?? p.field, message: p.message }));
}

/**
 * A form's problems, collected over one submit so that all are told at once: the shape and
 * rule checks of each field, and the checks that ask a service (a code, a captcha) turned
 * into the problem of their field. `throwIfAny` refuses the form with all of them.
 */
export class FormProblems {
  readonly #problems: FieldProblem[] = [];

  /** `order`: the fields in the page's order, which the summary follows (others go last). */
  constructor(private readonly order: readonly string[] = []) {}

  /** A field's problem; a field keeps its first (the one to fix first). */
  add(fieldName: string, message: string): void {
    if (!this.#problems.some((p) => p.field === fieldName))
      this.#problems.push({ field: fieldName, message });
  }

  /** A parser's answer for a field: the parsed value, or undefined and the field's problem. */
  parsed<T extends { ok: true }>(
    fieldName: string,
    result: T | { ok: false; message: string },
  ): T | undefined {
    if (result.ok) return result;
    this.add(fieldName, result.message);
    return undefined;
  }

  /** A check of one field by a service: an error the page shows becomes that field's problem. */
  async check<T>(fieldName: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (!shownOnForm(err)) throw err;
      this.add(fieldName, err.userMessage);
      return undefined;
    }
  }

  /**
   * A service's own judgement of several fields (a FormInvalid naming them by its own keys),
   * each problem taken under the form's name for its field (`rename`); any other error goes on.
   */
  async fields<T>(rename: Readonly<Record<string, string>>, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof FormInvalid)) throw err;
      for (const p of underFormNames(err.problems, rename)) this.add(p.field, p.message);
      return undefined;
    }
  }

  /** Whether `fieldName` has a problem. */
  has(fieldName: string): boolean {
    return this.#problems.some((p) => p.field === fieldName);
  }

  get found(): boolean {
    return this.#problems.length > 0;
  }

  /** Refuses the form with every problem found, if there is one. */
  throwIfAny(): void {
    if (!this.found) return;
    const rank = (p: FieldProblem) => {
      const at = this.order.indexOf(p.field);
      return at === -1 ? this.order.length : at;
    };
    throw new FormInvalid([...this.#problems].sort((a, b) => rank(a) - rank(b)));
  }
}

/**
 * The one rule for which errors a page shows itself: runs a form action (or a page script's
 * call); an error the person can act on (a 4xx, or an outside service that failed: 502/503) is
 * handed to `show` with its status set, and anything else goes on to the error handler.
 */
export async function onFormError<T>(
  ctx: Context,
  action: () => Promise<T>,
  show: (err: AppError) => unknown,
): Promise<T | undefined> {
  try {
    return await action();
  } catch (err) {
    if (!shownOnForm(err)) throw err;
    ctx.status = err.status;
    await show(err);
    return undefined;
  }
}

/** A page script's call: its answer as JSON, or `{error, error_description}` by the same rule. */
export async function jsonAnswer(ctx: Context, work: () => Promise<unknown>) {
  await onFormError(
    ctx,
    async () => {
      ctx.body = await work();
    },
    (err) => {
      ctx.body = { error: err.code, error_description: err.userMessage };
    },
  );
}

/** A page's script asking in the background (获取验证码): it wants JSON, not the page. */
export function wantsJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}

/** A typed error as the JSON a page's script reads: its message, and when to try again. */
export function jsonError(ctx: Context, err: AppError) {
  ctx.set('Cache-Control', 'no-store');
  ctx.status = err.status;
  ctx.body = {
    error: err.code,
    error_description: err.userMessage,
    ...(err instanceof FormInvalid ? { errors: err.problems } : {}),
    ...(err instanceof TooManyRequests && err.retryAfterSeconds
      ? { retry_after: err.retryAfterSeconds }
      : {}),
  };
}

/**
 * A form's fields, read at the edge (each through `field`, or `rawField` for the secrets named in
 * `raw`, which are not trimmed) and validated by a zod schema, as the admin API validates its
 * JSON: every problem, each with the schema's own (Chinese) message, becomes the problem of its
 * field (FormInvalid).
 */
export function formInput<Shape extends z.ZodRawShape>(
  ctx: Context,
  schema: z.ZodObject<Shape>,
  raw: readonly (keyof Shape & string)[] = [],
): z.output<z.ZodObject<Shape>> {
  const values = Object.fromEntries(
    Object.keys(schema.shape).map((name) => [
      name,
      raw.includes(name) ? rawField(ctx, name) : field(ctx, name),
    ]),
  );
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const problems = new FormProblems(Object.keys(schema.shape));
    for (const issue of parsed.error.issues) problems.add(String(issue.path[0] ?? 'form'), issue.message);
    problems.throwIfAny();
  }
  return parsed.data!;
}
