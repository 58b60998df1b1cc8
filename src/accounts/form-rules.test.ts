import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCreditCode } from '../identifiers/credit-code.js';
import { parseIdNumber } from '../identifiers/id-number.js';
import { AGREE_TO_TERMS, PASSWORDS_DIFFER } from '../web/field-marks.js';
import { checkPassword } from './password-policy.js';
import { parseMainlandMobile } from './phone.js';

// The browser's copy of the public rules (views/static/form-rules.js) must say exactly what the
// server's parsers say, for every input: a page that refused what the server accepts, or let
// through what it refuses with other words, would mislead. Run as the page runs it.
interface FormRules {
  idNumber(input: string, today?: Date): string;
  creditCode(input: string): string;
  phone(input: string): string;
  password(value: string, context?: { phone?: string; idNumber?: string }): string;
}
const script = readFileSync(new URL('../../views/static/form-rules.js', import.meta.url), 'utf8');
const sandbox: { formRules?: FormRules } = {};
runInNewContext(script, sandbox);
const rules = sandbox.formRules!;

const TODAY = new Date('2024-06-01T12:00:00+08:00');
const DIGITS = '0123456789';
const CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const chars = (alphabet: string, length: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: length, maxLength: length }).map((a) => a.join(''));

/** What the server says of a value: '' when accepted, else its message. */
const said = (parsed: { ok: true } | { ok: false; message: string }) => (parsed.ok ? '' : parsed.message);

describe('the browser checks the public rules with the server’s words', () => {
  it('ID numbers (GB 11643): every check character of random bodies, dates real and not', () => {
    const body = fc.oneof(
      chars(DIGITS, 17),
      // Mostly real dates, so the check character is what decides.
      fc
        .tuple(
          chars(DIGITS, 6),
          fc.date({ min: new Date('1900-01-01'), max: TODAY, noInvalidDate: true }),
          chars(DIGITS, 3),
        )
        .map(
          ([region, birth, seq]) => `${region}${birth.toISOString().slice(0, 10).replaceAll('-', '')}${seq}`,
        ),
    );
    fc.assert(
      fc.property(body, fc.constantFrom(...'0123456789Xx'), (first17, check) => {
        const id = first17 + check;
        expect(rules.idNumber(id, TODAY)).toBe(said(parseIdNumber(id, TODAY)));
      }),
      { numRuns: 3000 },
    );
  });

  it('ID numbers: the standard’s example, spaces, full-width forms and wrong lengths', () => {
    for (const id of [
      '11010519491231002X',
      ' 11010519491231002x ',
      '１１０１０５１９４９１２３１００２Ｘ',
      '11010519491231002',
      '110105194912310021',
      '',
    ]) {
      expect(rules.idNumber(id, TODAY), id).toBe(said(parseIdNumber(id, TODAY)));
    }
  });

  it('credit codes (GB 32100): every check character of random bodies', () => {
    const body = fc
      .tuple(chars(CODE_CHARS, 2), chars(DIGITS, 6), chars(CODE_CHARS, 9))
      .map((p) => p.join(''));
    fc.assert(
      fc.property(body, fc.constantFrom(...CODE_CHARS, 'I', 'O', 'z'), (first17, check) => {
        const code = first17 + check;
        expect(rules.creditCode(code)).toBe(said(parseCreditCode(code)));
      }),
      { numRuns: 3000 },
    );
  });

  it('mobile numbers: as people type them, with country codes and separators', () => {
    const typed = fc
      .tuple(
        fc.constantFrom('', '+86', '0086', '86', '+1', '(+86) '),
        fc.array(fc.constantFrom(...'0123456789', ' ', '-', '.'), { minLength: 9, maxLength: 14 }),
      )
      .map(([prefix, rest]) => prefix + rest.join(''));
    const mobile = fc
      .tuple(fc.constantFrom('13', '15', '18', '19', '12'), chars(DIGITS, 9))
      .map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(typed, mobile), (phone) => {
        expect(rules.phone(phone)).toBe(said(parseMainlandMobile(phone)));
      }),
      { numRuns: 3000 },
    );
  });

  it('passwords: length and classes as the server counts them; the common list is the server’s alone', () => {
    const alphabet = ['a', 'Z', '7', '#', ' ', '中', '\u0301', '😀', 'ａ', '１'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { minLength: 0, maxLength: 70 }).map((a) => a.join('')),
        fc.constantFrom(undefined, '13800138000', '+86 138 0013 8000'),
        (password, phone) => {
          const server = checkPassword(password, phone ? { phone } : {});
          const expected = server.ok || server.reason === 'common' ? '' : server.message;
          expect(rules.password(password, { phone })).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
    // One class: refused below 15 characters, enough from 15 on.
    fc.assert(
      fc.property(fc.constantFrom('a', '7', '#', '中'), fc.integer({ min: 6, max: 66 }), (c, n) => {
        const password = c.repeat(n);
        const server = checkPassword(password);
        expect(rules.password(password)).toBe(server.ok || server.reason === 'common' ? '' : server.message);
      }),
    );
    expect(rules.password('Ab1!13800138000x', { phone: '13800138000' })).toBe(
      '密码不能包含手机号码或身份证号码',
    );
    expect(rules.password('x11010519491231002x', { idNumber: '11010519491231002X' })).toBe(
      '密码不能包含手机号码或身份证号码',
    );
  });
});

describe('the words forms.js shows before a registration is sent', () => {
  // A page that checks before submitting must say what the server says when the check is skipped.
  const forms = readFileSync(new URL('../../views/static/forms.js', import.meta.url), 'utf8');
  it.each([PASSWORDS_DIFFER, AGREE_TO_TERMS])('are the server’s: %s', (words) => {
    expect(forms).toContain(`'${words}'`);
  });
});
