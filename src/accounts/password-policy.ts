// The portal's password rule (登录密码): 8–64 characters, at
// least two of digits / letters / symbols unless 15 or longer (NIST 800-63B),
// no phone or ID number inside, not a common password.

import { readFileSync } from 'node:fs';
import { parseMainlandMobile } from './phone.js';

export type PasswordFailureReason = 'length' | 'classes' | 'contains_identifier' | 'common';

export type PasswordCheck = { ok: true } | { ok: false; reason: PasswordFailureReason; message: string };

export interface PasswordContext {
  /** The account's phone number, E.164 or national. */
  phone?: string;
  /** The account's resident ID number. */
  idNumber?: string;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 64;
/** From this length on, one character class is enough. */
export const LONG_PASSWORD_LENGTH = 15;

/** The rule as the pages show it beside every new-password field. */
export const PASSWORD_RULE = `${MIN_PASSWORD_LENGTH}至${MAX_PASSWORD_LENGTH}个字符，至少包含数字、字母、符号中的两类（${LONG_PASSWORD_LENGTH}个字符以上不限），不能包含手机号码或身份证号码`;

const MESSAGES: Record<PasswordFailureReason, string> = {
  length: `密码长度应为${MIN_PASSWORD_LENGTH}至${MAX_PASSWORD_LENGTH}个字符`,
  classes: '密码须包含数字、字母、符号中的至少两类',
  contains_identifier: '密码不能包含手机号码或身份证号码',
  common: '该密码过于常见，请换一个',
};

const ID_NUMBER_PATTERN = /^\d{17}[\dX]$/;

export function checkPassword(password: string, context: PasswordContext = {}): PasswordCheck {
  // Code points, so that a character outside the BMP counts once; the
  // password is never truncated, so what is checked is what gets hashed.
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) return failure('length');
  const required = length >= LONG_PASSWORD_LENGTH ? 1 : 2;
  if (characterClasses(password).size < required) return failure('classes');
  if (containsIdentifier(password, context)) return failure('contains_identifier');
  if (isCommonPassword(password)) return failure('common');
  return { ok: true };
}

export type CharacterClass = 'digit' | 'letter' | 'symbol';

/** Which of the rule's classes appear in `password`. */
export function characterClasses(password: string): Set<CharacterClass> {
  const classes = new Set<CharacterClass>();
  for (const character of password) {
    const kind = classify(character);
    if (kind !== undefined) classes.add(kind);
  }
  return classes;
}

/** Whether `password` is on the shipped list of common passwords, ignoring case. */
export function isCommonPassword(password: string): boolean {
  const list = commonPasswords();
  // Full-width input (`ｐａｓｓｗｏｒｄ`) is the same password to a guesser.
  return variants(password).some((variant) => list.has(variant));
}

function classify(character: string): CharacterClass | undefined {
  if (/\p{L}/u.test(character)) return 'letter';
  if (/\p{Nd}/u.test(character)) return 'digit';
  // Spaces, control and format characters are allowed but print nothing, and
  // a combining mark only decorates the letter before it: none adds a class.
  if (/[\s\p{Z}\p{C}\p{M}]/u.test(character)) return undefined;
  return 'symbol';
}

function containsIdentifier(password: string, context: PasswordContext): boolean {
  const identifiers = [nationalPhone(context.phone), idNumber(context.idNumber)].filter(
    (identifier): identifier is string => identifier !== undefined,
  );
  return variants(password).some((variant) => identifiers.some((identifier) => variant.includes(identifier)));
}

function nationalPhone(phone: string | undefined): string | undefined {
  if (phone === undefined) return undefined;
  const parsed = parseMainlandMobile(phone);
  return parsed.ok ? parsed.national : undefined;
}

// Lower-case, to match the lower-cased password variants; only well-formed
// numbers count, so that a stray short value can not refuse every password.
function idNumber(value: string | undefined): string | undefined {
  const normalised = value?.normalize('NFKC').trim().toUpperCase();
  return normalised !== undefined && ID_NUMBER_PATTERN.test(normalised)
    ? normalised.toLowerCase()
    : undefined;
}

/** The password as typed and with full-width forms folded, both lower-cased. */
function variants(password: string): string[] {
  const lower = password.toLowerCase();
  const folded = password.normalize('NFKC').toLowerCase();
  return folded === lower ? [lower] : [lower, folded];
}

let commonPasswordSet: Set<string> | undefined;

// Read on first use, not at import, so that modules which never check a
// password do not pay for 10,000 lines.
function commonPasswords(): Set<string> {
  if (commonPasswordSet === undefined) {
    const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
    commonPasswordSet = new Set(
      text
        .split(/\r?\n/)
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.toLowerCase()),
    );
  }
  return commonPasswordSet;
}

function failure(reason: PasswordFailureReason): PasswordCheck {
  return { ok: false, reason, message: MESSAGES[reason] };
}
