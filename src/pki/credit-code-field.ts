import { creditCodeCheckCharacter } from '../identifiers/credit-code.js';

// Chinese CAs write the 统一社会信用代码 in many shapes: bare, after an ETSI
// EN 319 412-1 prefix (`NTRCN-…`), after a label (`统一社会信用代码:…`,
// `USCC…`), or inside a longer identifier. We look for an 18-character run
// from the GB 32100 charset and accept it only when its check character is
// right, which also keeps an 18-digit 身份证号码 in a personal certificate's
// serialNumber from passing for a credit code.

const ALPHANUMERIC_RUN = /[0-9A-Z]+/g;
const CREDIT_CODE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** The first valid credit code found in `text`. */
export function extractCreditCode(text: string): string | undefined {
  // NFKC folds full-width characters that some CA front-ends let through.
  const normalized = text.normalize('NFKC').toUpperCase();
  for (const [run] of normalized.matchAll(ALPHANUMERIC_RUN)) {
    if (run.length < 18) continue;
    // A prefix glued on (`NTRCN91…`) leaves the code at the end; a suffix at the start.
    for (const candidate of new Set([run.slice(-18), run.slice(0, 18)])) {
      if (isCreditCode(candidate)) return candidate;
    }
  }
  return undefined;
}

export function isCreditCode(candidate: string): boolean {
  return CREDIT_CODE.test(candidate) && creditCodeCheckCharacter(candidate.slice(0, 17)) === candidate[17];
}
