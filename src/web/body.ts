import type { Context } from 'koa';
import { HttpMethodEnum, koaBody } from 'koa-body';
import { BadInput } from '../errors.js';

/** Forms and JSON only, small: a login form is a few hundred bytes. */
export const parseBody = koaBody({
  multipart: false,
  text: false,
  urlencoded: true,
  json: true,
  formLimit: '64kb',
  jsonLimit: '64kb',
  // The admin API's DELETEs carry their audited reason in the body like every other change.
  parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH, HttpMethodEnum.DELETE],
  onError(err) {
    throw Object.assign(new BadInput('请求格式不正确'), { cause: err });
  },
});

/** No form field of ours is longer; a longer one is an attack or a mistake, not data. */
const MAX_FIELD_LENGTH = 2000;

/**
 * One form value as a string. NUL, other C0 controls but tab/newline, and unpaired surrogates
 * are refused here, at the edge, so no store ever sees text the database would reject.
 */
function stringField(ctx: Context, name: string): string {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const value = body[name];
  if (value === undefined || value === null) return '';
  // A repeated field or a JSON object is refused rather than guessed at.
  if (typeof value !== 'string') throw new BadInput('请求格式不正确');
  if (value.length > MAX_FIELD_LENGTH) throw new BadInput('输入内容过长');
  if (hasControlCharacters(value) || !value.isWellFormed()) {
    throw new BadInput('输入内容包含无效字符');
  }
  return value;
}

/** C0 controls other than tab, newline and carriage return. */
function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}

/** A form field as one trimmed string. */
export function field(ctx: Context, name: string): string {
  return stringField(ctx, name).trim();
}

/** Passwords are not trimmed: spaces are characters too. */
export function rawField(ctx: Context, name: string): string {
  return stringField(ctx, name);
}

/** The same refusal for every string in a JSON body (APIs), however deeply nested. */
export function assertCleanJson(value: unknown, depth = 0): void {
  if (depth > 20) throw new BadInput('请求格式不正确');
  if (typeof value === 'string') {
    if (value.length > 20_000 || hasControlCharacters(value) || !value.isWellFormed()) {
      throw new BadInput('输入内容包含无效字符');
    }
  } else if (Array.isArray(value)) {
    for (const item of value) assertCleanJson(item, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      assertCleanJson(k, depth + 1);
      assertCleanJson(v, depth + 1);
    }
  }
}
