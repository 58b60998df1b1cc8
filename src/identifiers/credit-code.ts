// Unified social credit codes (统一社会信用代码) as defined by GB 32100-2015:
// 1 registration authority, 1 organisation type, 6-digit region code,
// 9-character organisation code, 1 check character.

export type LegalType =
  | 'enterprise'
  | 'farmer_cooperative'
  | 'individual_business'
  | 'public_institution'
  | 'social_organisation'
  | 'government_organ';

export interface LegalTypeInfo {
  /** How the portal names the type (法人类型). */
  label: string;
  /** Registration authority + organisation type, the code's first two characters. */
  prefixes: readonly string[];
}

export const LEGAL_TYPES: Readonly<Record<LegalType, LegalTypeInfo>> = {
  enterprise: { label: '企业', prefixes: ['91'] },
  farmer_cooperative: { label: '农专社', prefixes: ['93'] },
  individual_business: { label: '个体', prefixes: ['92'] },
  public_institution: { label: '事业单位', prefixes: ['12'] },
  // 民政: 社会团体, 民办非企业单位, 基金会.
  social_organisation: { label: '社团/民非/基金会', prefixes: ['51', '52', '53'] },
  // 机构编制: 机关.
  government_organ: { label: '政府机关', prefixes: ['11'] },
};

export type CreditCodeFailureReason = 'format' | 'check_character' | 'prefix';

export type ParsedCreditCode =
  | { ok: true; creditCode: string; prefix: string }
  | { ok: false; reason: CreditCodeFailureReason; message: string };

// The 31 characters in value order; I, O, Z, S and V are left out because they
// read like 1, 0, 2, 5 and U.
const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;
// Positions 3–8 are an administrative division code (GB/T 2260), always digits.
const CODE_PATTERN = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;
const BODY_PATTERN = /^[0-9A-HJ-NPQRTUWXY]{17}$/;

export function isLegalType(value: string): value is LegalType {
  return Object.hasOwn(LEGAL_TYPES, value);
}

/** The legal type whose codes start with `prefix`, if any of ours do. */
export function legalTypeForPrefix(prefix: string): LegalType | undefined {
  for (const [type, info] of Object.entries(LEGAL_TYPES) as [LegalType, LegalTypeInfo][]) {
    if (info.prefixes.includes(prefix)) return type;
  }
  return undefined;
}

/** The check character for the first 17 characters of a credit code. */
export function creditCodeCheckCharacter(first17: string): string {
  if (!BODY_PATTERN.test(first17)) {
    throw new RangeError('creditCodeCheckCharacter expects 17 characters from the GB 32100 charset');
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    sum += CHARSET.indexOf(first17[i]!) * WEIGHTS[i]!;
  }
  // 31 − (sum mod 31) is in 1..31, and 31 stands for 0.
  return CHARSET[(31 - (sum % 31)) % 31]!;
}

export function parseCreditCode(input: string, legalType?: LegalType): ParsedCreditCode {
  // NFKC folds the full-width characters that Chinese input methods produce.
  const creditCode = input.normalize('NFKC').trim().toUpperCase();
  if (!CODE_PATTERN.test(creditCode)) {
    return { ok: false, reason: 'format', message: '统一社会信用代码格式不正确' };
  }
  if (creditCodeCheckCharacter(creditCode.slice(0, 17)) !== creditCode[17]) {
    return { ok: false, reason: 'check_character', message: '统一社会信用代码校验位不正确' };
  }
  const prefix = creditCode.slice(0, 2);
  if (legalType !== undefined && !LEGAL_TYPES[legalType].prefixes.includes(prefix)) {
    return { ok: false, reason: 'prefix', message: prefixMessage(legalType) };
  }
  return { ok: true, creditCode, prefix };
}

// Name what the chosen type expects rather than guess which type the code
// belongs to: prefixes such as 13, 31 or 99 belong to no type we offer.
function prefixMessage(legalType: LegalType): string {
  const { label, prefixes } = LEGAL_TYPES[legalType];
  return `统一社会信用代码与法人类型不符：${label}的代码应以 ${joinAlternatives(prefixes)} 开头`;
}

function joinAlternatives(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join('、')} 或 ${items.at(-1)}`;
}
