// The rules a browser can check before a form is sent: public arithmetic only (the check
// characters of GB 11643 ID numbers and GB 32100 unified social credit codes, the shape of a
// mainland mobile number, the length and character classes of the password rule), in the same
// words as the server's parsers (src/identifiers, src/accounts), which check everything again. Both are run
// against the same vectors (src/accounts/form-rules.test.ts). A classic script, so that tests
// can load it too: it sets globalThis.formRules.
(function (root) {
  'use strict';

  const fold = (input) => String(input).normalize('NFKC').trim().toUpperCase();

  const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const ID_CHECK = '10X98765432';
  const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

  /** '' for a well-formed 居民身份证号码, else what is wrong with it. */
  function idNumber(input, today) {
    const id = fold(input);
    if (!/^\d{17}[\dX]$/.test(id)) return '身份证号码格式不正确';
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(id[i]) * ID_WEIGHTS[i];
    if (ID_CHECK[sum % 11] !== id[17]) return '身份证号码校验位不正确';
    const year = Number(id.slice(6, 10));
    const month = Number(id.slice(10, 12));
    const day = Number(id.slice(12, 14));
    const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const birth = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
    const now = new Date((today ?? new Date()).getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
    if (year < 1900 || month < 1 || month > 12 || day < 1 || day > lastDay || birth > now)
      return '身份证号码中的出生日期无效';
    return '';
  }

  const CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  /** '' for a well-formed 统一社会信用代码, else what is wrong with it. */
  function creditCode(input) {
    const code = fold(input);
    if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(code)) return '统一社会信用代码格式不正确';
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += CODE_CHARSET.indexOf(code[i]) * CODE_WEIGHTS[i];
    if (CODE_CHARSET[(31 - (sum % 31)) % 31] !== code[17]) return '统一社会信用代码校验位不正确';
    return '';
  }

  /** The national number of a mainland mobile number as people type it, or undefined. */
  function nationalMobile(input) {
    const compact = String(input).normalize('NFKC').replace(/[\s\p{Pd}().]/gu, '');
    let national = compact;
    if (compact.startsWith('+86')) national = compact.slice(3);
    else if (compact.startsWith('0086')) national = compact.slice(4);
    else if (compact.length === 13 && compact.startsWith('86')) national = compact.slice(2);
    else if (compact.startsWith('+')) return undefined;
    return /^1[3-9]\d{9}$/.test(national) ? national : undefined;
  }

  /** '' for a mainland mobile number, else what is wrong with it. */
  function phone(input) {
    return nationalMobile(input) ? '' : '请输入正确的手机号码';
  }

  function classOf(character) {
    if (/\p{L}/u.test(character)) return 'letter';
    if (/\p{Nd}/u.test(character)) return 'digit';
    if (/[\s\p{Z}\p{C}\p{M}]/u.test(character)) return undefined;
    return 'symbol';
  }

  /**
   * '' when a new password keeps the rule as far as a browser can tell (length, classes, no
   * phone or ID number of the form inside), else the rule it breaks. Only the server knows the
   * list of common passwords.
   */
  function password(value, context) {
    const length = Array.from(value).length;
    if (length < 8 || length > 64) return '密码长度应为8至64个字符';
    const classes = new Set();
    for (const character of value) {
      const kind = classOf(character);
      if (kind) classes.add(kind);
    }
    if (classes.size < (length >= 15 ? 1 : 2)) return '密码须包含数字、字母、符号中的至少两类';
    const national = context?.phone ? nationalMobile(context.phone) : undefined;
    const id = context?.idNumber ? fold(context.idNumber) : '';
    const identifiers = [national, /^\d{17}[\dX]$/.test(id) ? id.toLowerCase() : undefined].filter(Boolean);
    const lower = value.toLowerCase();
    const variants = [lower, value.normalize('NFKC').toLowerCase()];
    if (variants.some((v) => identifiers.some((identifier) => v.includes(identifier))))
      return '密码不能包含手机号码或身份证号码';
    return '';
  }

  root.formRules = { idNumber, creditCode, phone, password };
})(globalThis);
