// Mainland China mobile numbers: stored as E.164 (`+86…`), shown masked.

export type ParsedMobile = { ok: true; e164: string; national: string } | { ok: false; message: string };

const NATIONAL_PATTERN = /^1[3-9]\d{9}$/;
const INVALID_MESSAGE = '请输入正确的手机号码';

// People paste numbers as they are printed: `138 1234 5678`, `138-1234-5678`,
// `(+86) 138…`. Separators carry no meaning, so they are dropped.
const SEPARATORS = /[\s\p{Pd}().]/gu;

export function parseMainlandMobile(input: string): ParsedMobile {
  // NFKC folds full-width digits and `＋` from Chinese input methods.
  const compact = input.normalize('NFKC').replace(SEPARATORS, '');
  const national = withoutCountryCode(compact);
  if (national === undefined || !NATIONAL_PATTERN.test(national)) {
    return { ok: false, message: INVALID_MESSAGE };
  }
  return { ok: true, e164: `+86${national}`, national };
}

/** `138****5678` from an E.164 or national mainland number. */
export function maskPhone(e164OrNational: string): string {
  const parsed = parseMainlandMobile(e164OrNational);
  // A value we cannot read is hidden completely rather than partly shown.
  if (!parsed.ok) return '*'.repeat(e164OrNational.trim().length);
  return `${parsed.national.slice(0, 3)}****${parsed.national.slice(7)}`;
}

function withoutCountryCode(compact: string): string | undefined {
  if (compact.startsWith('+86')) return compact.slice(3);
  if (compact.startsWith('0086')) return compact.slice(4);
  // A national mobile number starts with 1, so a leading 86 on a 13-digit
  // string can only be the country code.
  if (compact.length === 13 && compact.startsWith('86')) return compact.slice(2);
  if (compact.startsWith('+')) return undefined;
  return compact;
}
