import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskPhone, parseMainlandMobile } from './phone.js';

const REFUSED = { ok: false, message: '请输入正确的手机号码' };

describe('a resident types a mobile number to register', () => {
  it.each([
    ['the bare national number', '13812345678'],
    ['E.164', '+8613812345678'],
    ['the country code without a plus', '8613812345678'],
    ['the international prefix 00', '008613812345678'],
    ['spaces as printed on a card', '86 138 1234 5678'],
    ['dashes', '138-1234-5678'],
    ['a bracketed country code', '(+86) 138-1234-5678'],
    ['spaces around', '  13812345678\n'],
    ['full-width digits from a Chinese input method', '＋８６ １３８１２３４５６７８'],
    ['an ideographic space', '138\u30001234\u30005678'],
  ])('accepts %s', (_story, input) => {
    expect(parseMainlandMobile(input)).toEqual({ ok: true, e164: '+8613812345678', national: '13812345678' });
  });

  it.each([
    ['a number starting 12', '12812345678'],
    ['a number starting 10', '10012345678'],
    ['ten digits', '1381234567'],
    ['twelve digits', '138123456789'],
    ['a landline', '02112345678'],
    ['a Hong Kong number', '+85291234567'],
    ['another country', '+1 415 555 0100'],
    ['a country code 86 on too few digits', '+86138123456'],
    ['letters', '138abcd5678'],
    ['nothing', ''],
  ])('refuses %s', (_story, input) => {
    expect(parseMainlandMobile(input)).toEqual(REFUSED);
  });

  it('accepts every 1[3-9] number in any of its written forms', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^1[3-9]\d{9}$/), (national) => {
        const forms = [
          national,
          `+86${national}`,
          `86 ${national.slice(0, 3)} ${national.slice(3, 7)} ${national.slice(7)}`,
          `${national.slice(0, 3)}-${national.slice(3, 7)}-${national.slice(7)}`,
        ];
        for (const form of forms) {
          expect(parseMainlandMobile(form)).toEqual({ ok: true, e164: `+86${national}`, national });
        }
      }),
    );
  });

  it('refuses every 11-digit number that does not start with 13 to 19', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^(?:[02-9]\d|1[0-2])\d{9}$/), (number) => {
        expect(parseMainlandMobile(number)).toEqual(REFUSED);
      }),
    );
  });
});

describe('masking a phone number for display', () => {
  it('shows the first three and the last four digits', () => {
    expect(maskPhone('+8613812345678')).toBe('138****5678');
    expect(maskPhone('13812345678')).toBe('138****5678');
  });

  it('hides a value it cannot read completely', () => {
    expect(maskPhone('+85291234567')).toBe('************');
  });
});
