import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import { BadInput } from '../errors.js';

/** Forms and JSON only, small: a login form is a few hundred bytes. */
export const parseBody = koaBody({
  multipart: false,
  text: false,
  urlencoded: true,
  json: true,
  formLimit: '64kb',
  jsonLimit: '64kb',
  onError(err) {
    throw Object.assign(new BadInput('请求格式不正确'), { cause: err });
  },
});

/** A form field as one trimmed string (a repeated field is refused rather than guessed at). */
export function field(ctx: Context, name: string): string {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadInput('请求格式不正确');
  return value.trim();
}

/** Passwords are not trimmed: spaces are characters too. */
export function rawField(ctx: Context, name: string): string {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadInput('请求格式不正确');
  return value;
}
