// Resident ID numbers (居民身份证号码) as defined by GB 11643-1999: 6-digit region
// code, 8-digit birth date, 3-digit sequence (odd = male), 1 check character.

export type IdNumberFailureReason = 'format' | 'check_character' | 'birth_date';

export type ParsedIdNumber =
  | {
      ok: true;
      /** Normalised: 18 characters, check character `X` upper-case. */
      idNumber: string;
      /** `YYYY-MM-DD`. */
      birthDate: string;
      sex: 'male' | 'female';
      regionCode: string;
    }
  | { ok: false; reason: IdNumberFailureReason; message: string };

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARACTERS = '10X98765432';
const ID_PATTERN = /^\d{17}[\dX]$/;
const EARLIEST_BIRTH_YEAR = 1900;

// Residents' dates are Beijing dates: a child born just after midnight in
// Beijing is still "yesterday" in UTC, and must not count as born in the future.
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

const MESSAGES: Record<IdNumberFailureReason, string> = {
  format: '身份证号码格式不正确',
  check_character: '身份证号码校验位不正确',
  birth_date: '身份证号码中的出生日期无效',
};

/** The check character (`0`–`9` or `X`) for the first 17 digits of an ID number. */
export function idCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) {
    throw new RangeError('idCheckCharacter expects exactly 17 digits');
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    sum += Number(first17[i]) * WEIGHTS[i]!;
  }
  return CHECK_CHARACTERS[sum % 11]!;
}

export function parseIdNumber(input: string, today: Date = new Date()): ParsedIdNumber {
  const idNumber = normalise(input);
  if (!ID_PATTERN.test(idNumber)) return failure('format');
  // The check character first: a typo anywhere, the birth date included, is
  // far more likely than a genuinely wrong date, and the message should say so.
  if (idCheckCharacter(idNumber.slice(0, 17)) !== idNumber[17]) return failure('check_character');
  const birthDate = birthDateOf(idNumber.slice(6, 14), today);
  if (birthDate === undefined) return failure('birth_date');
  return {
    ok: true,
    idNumber,
    birthDate,
    sex: Number(idNumber[16]) % 2 === 1 ? 'male' : 'female',
    regionCode: idNumber.slice(0, 6),
  };
}

/** `4201**********123X`: the first and last four characters only. */
export function maskIdNumber(id: string): string {
  const normalised = normalise(id);
  // Anything that is not a full ID number is hidden completely rather than
  // risk showing most of a shorter value.
  if (normalised.length !== 18) return '*'.repeat(normalised.length);
  return `${normalised.slice(0, 4)}${'*'.repeat(10)}${normalised.slice(14)}`;
}

// NFKC folds the full-width digits and `Ｘ` that Chinese input methods produce.
function normalise(input: string): string {
  return input.normalize('NFKC').trim().toUpperCase();
}

function failure(reason: IdNumberFailureReason): ParsedIdNumber {
  return { ok: false, reason, message: MESSAGES[reason] };
}

/** `YYYY-MM-DD` when `yyyymmdd` is a real date from 1900 up to today (Beijing), else undefined. */
function birthDateOf(yyyymmdd: string, today: Date): string | undefined {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (year < EARLIEST_BIRTH_YEAR || month < 1 || month > 12 || day < 1) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  const birthDate = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
  // ISO dates of equal length compare correctly as strings.
  if (birthDate > beijingDate(today)) return undefined;
  return birthDate;
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; UTC avoids DST surprises.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function beijingDate(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}
