import type { FieldProblem } from '../errors.js';

/** What a cleared password field says beside itself. */
export const RETYPE_PASSWORD = '请重新输入密码';

/** What a confirmation field says when it differs from the password (forms.js says it too). */
export const PASSWORDS_DIFFER = '两次输入的密码不一致';

/** What the agreement's box says when a registration is sent without it ticked (forms.js too). */
export const AGREE_TO_TERMS = '请阅读并同意《用户注册协议》';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Field names are ours, written in the templates; anything else is a mistake, not data. */
function fieldId(name: string): string {
  if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new RangeError(`not a field name: ${name}`);
  return name;
}

/**
 * The marks a template puts on its fields, from the page's `errors` and `retype` (see
 * errorsOnPage in page-kit.ts): a field's input is `aria-invalid` and described by its
 * message, which stands right below it; a cleared password field says 请重新输入密码. A field's
 * element id is its name, which is what the summary at the top links to. forms.js marks the
 * same way before a submit.
 */
export function fieldMarks(data: { errors?: unknown; retype?: unknown }) {
  const errors = Array.isArray(data.errors) ? (data.errors as FieldProblem[]) : [];
  const retype = new Set(Array.isArray(data.retype) ? (data.retype as string[]) : []);
  // A field is found by its element's id, or by its form name where the two differ (two forms
  // on one page each with a `password`): a problem or a cleared password under either is its.
  const problemOf = (id: string, name: string) =>
    errors.find((p) => p.field === id) ?? errors.find((p) => p.field === name);
  const cleared = (id: string, name: string) => retype.has(id) || retype.has(name);
  const nameIn = (also: readonly (string | { name: string })[], id: string) =>
    also.find((a): a is { name: string } => typeof a === 'object')?.name ?? id;
  return {
    /**
     * The input's own attributes: ` aria-invalid="true" aria-describedby="…"`; `also` names
     * hints' ids (described by last), and `{ name }` the form name when it is not the id.
     */
    aria(id: string, ...also: (string | { name: string })[]): string {
      fieldId(id);
      const name = nameIn(also, id);
      const problem = problemOf(id, name);
      const describedBy = [
        ...(problem ? [`${id}-error`] : []),
        ...(cleared(id, name) ? [`${id}-retype`] : []),
        ...also.filter((a): a is string => typeof a === 'string').map(fieldId),
      ];
      return (
        (problem ? ' aria-invalid="true"' : '') +
        (describedBy.length ? ` aria-describedby="${describedBy.join(' ')}"` : '')
      );
    },
    /** The messages below the input: its problem, and 请重新输入密码 when it was cleared. */
    fieldMessages(id: string, name = id): string {
      fieldId(id);
      const problem = problemOf(id, name);
      return (
        (problem ? `<p class="field-error" id="${id}-error">${escapeHtml(problem.message)}</p>` : '') +
        (cleared(id, name) ? `<p class="field-note" id="${id}-retype">${RETYPE_PASSWORD}</p>` : '')
      );
    },
  };
}
