import type { FieldProblem } from '../errors.js';

/** What a cleared password field says beside itself. */
export const RETYPE_PASSWORD = '请重新输入密码';

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
  const problemOf = (name: string) => errors.find((p) => p.field === name);
  return {
    /** The input's own attributes: ` aria-invalid="true" aria-describedby="…"`, `also` (a hint's id) last. */
    aria(name: string, ...also: string[]): string {
      const id = fieldId(name);
      const describedBy = [
        ...(problemOf(name) ? [`${id}-error`] : []),
        ...(retype.has(name) ? [`${id}-retype`] : []),
        ...also.map(fieldId),
      ];
      return (
        (problemOf(name) ? ' aria-invalid="true"' : '') +
        (describedBy.length ? ` aria-describedby="${describedBy.join(' ')}"` : '')
      );
    },
    /** The messages below the input: its problem, and 请重新输入密码 when it was cleared. */
    fieldMessages(name: string): string {
      const id = fieldId(name);
      const problem = problemOf(name);
      return (
        (problem ? `<p class="field-error" id="${id}-error">${escapeHtml(problem.message)}</p>` : '') +
        (retype.has(name) ? `<p class="field-note" id="${id}-retype">${RETYPE_PASSWORD}</p>` : '')
      );
    },
  };
}
