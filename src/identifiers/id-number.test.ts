import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idCheckCharacter, maskIdNumber, parseIdNumber } from './id-number.js';

// A fixed "today" keeps the future-date rules stable: noon in Beijing, 1 June 2024.
const TODAY = new Date('2024-06-01T12:00:00+08:00');

/** A valid ID number built from its parts, the check character computed. */
function idNumberOf(region: string, birth: string, sequence: string): string {
  const body = `${region}${birth}${sequence}`;
  return body + idCheckCharacter(body);
}

describe('a resident types an ID number on the real-name page', () => {
  it('accepts the example from GB 11643 and reads birth date, sex and region from it', () => {
    expect(parseIdNumber('11010519491231002X', TODAY)).toEqual({
      ok: true,
      idNumber: '11010519491231002X',
      birthDate: '1949-12-31',
      sex: 'female',
      regionCode: '110105',
    });
  });

  it('accepts a lower-case x and stray spaces, and stores the upper-case X', () => {
    const parsed = parseIdNumber('  11010519491231002x \t', TODAY);
    expect(parsed).toMatchObject({ ok: true, idNumber: '11010519491231002X' });
  });

  it('accepts the full-width digits and Ｘ of a Chinese input method', () => {
    const parsed = parseIdNumber('１１０１０５１９４９１２３１００２Ｘ', TODAY);
    expect(parsed).toMatchObject({ ok: true, idNumber: '11010519491231002X' });
  });

  it('tells a man from a woman by the parity of the sequence number', () => {
    // 1990-03-19, sequence 123 (odd): male.
    expect(parseIdNumber('42010619900319123X', TODAY)).toMatchObject({ ok: true, sex: 'male' });
    expect(parseIdNumber(idNumberOf('420106', '19900319', '124'), TODAY)).toMatchObject({
      ok: true,
      sex: 'female',
    });
  });

  it('refuses a wrong check character with a message saying so', () => {
    expect(parseIdNumber('110105194912310021', TODAY)).toEqual({
      ok: false,
      reason: 'check_character',
      message: '身份证号码校验位不正确',
    });
  });

  it.each([
    ['too short', '11010519491231002'],
    ['too long', '11010519491231002X1'],
    ['the old 15-digit form', '110105491231002'],
    ['an X before the end', '1101051949123100X2'],
    ['letters', 'ABCDEFGHIJKLMNOPQR'],
    ['spaces inside', '110105 19491231002X'],
    ['nothing at all', ''],
  ])('refuses %s as a format error', (_story, input) => {
    expect(parseIdNumber(input, TODAY)).toEqual({
      ok: false,
      reason: 'format',
      message: '身份证号码格式不正确',
    });
  });

  it.each([
    ['1900 was not a leap year', '19000229'],
    ['there is no 30 February', '20230230'],
    ['there is no month 13', '19901301'],
    ['there is no day 0', '19900100'],
    ['there is no 31 April', '19900431'],
    ['a birth before 1900 (GB 11643 example 440524188001010014)', '18800101'],
    ['a birth tomorrow', '20240602'],
    ['a birth years ahead', '20991231'],
  ])('refuses a birth date that cannot be: %s', (_story, birth) => {
    expect(parseIdNumber(idNumberOf('440524', birth, '001'), TODAY)).toEqual({
      ok: false,
      reason: 'birth_date',
      message: '身份证号码中的出生日期无效',
    });
  });

  it('refuses the example of GB 11643 itself, whose holder was born in 1880', () => {
    expect(parseIdNumber('440524188001010014', TODAY)).toMatchObject({ ok: false, reason: 'birth_date' });
  });

  it('accepts 29 February of a leap year, 1 January 1900, and a baby born today', () => {
    expect(parseIdNumber(idNumberOf('110101', '20000229', '001'), TODAY)).toMatchObject({
      ok: true,
      birthDate: '2000-02-29',
    });
    expect(parseIdNumber(idNumberOf('110101', '19000101', '001'), TODAY)).toMatchObject({ ok: true });
    expect(parseIdNumber(idNumberOf('110101', '20240601', '001'), TODAY)).toMatchObject({ ok: true });
  });

  it('counts "today" in Beijing: just after midnight there, UTC is still on the day before', () => {
    const justAfterMidnightInBeijing = new Date('2024-06-01T00:05:00+08:00');
    const bornToday = idNumberOf('110101', '20240601', '001');
    expect(parseIdNumber(bornToday, justAfterMidnightInBeijing)).toMatchObject({ ok: true });
    const lateEveningInBeijing = new Date('2024-05-31T23:55:00+08:00');
    expect(parseIdNumber(bornToday, lateEveningInBeijing)).toMatchObject({ ok: false, reason: 'birth_date' });
  });

  it('judges the future against the real clock when no date is given', () => {
    const nextYear = new Date().getUTCFullYear() + 1;
    expect(parseIdNumber(idNumberOf('110101', `${nextYear}1231`, '001'))).toMatchObject({ ok: false });
    expect(parseIdNumber('11010519491231002X')).toMatchObject({ ok: true });
  });
});

describe('the check character', () => {
  it('is the one of GB 11643 for the standard examples', () => {
    expect(idCheckCharacter('11010519491231002')).toBe('X');
    expect(idCheckCharacter('44052418800101001')).toBe('4');
  });

  it('is only computed over 17 digits', () => {
    expect(() => idCheckCharacter('1101051949123100')).toThrow(RangeError);
    expect(() => idCheckCharacter('1101051949123100A')).toThrow(RangeError);
  });
});

// Birth dates from 1900 up to TODAY, as YYYYMMDD.
const birthDates = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2024-06-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString().slice(0, 10).replaceAll('-', ''));
const digits = (length: number) => fc.stringMatching(new RegExp(`^\\d{${length}}$`));

describe('properties of ID numbers', () => {
  it('every real birth date with any region and sequence, given its check character, is accepted', () => {
    fc.assert(
      fc.property(digits(6), birthDates, digits(3), (region, birth, sequence) => {
        const id = idNumberOf(region, birth, sequence);
        const parsed = parseIdNumber(id, TODAY);
        expect(parsed).toEqual({
          ok: true,
          idNumber: id,
          birthDate: `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6)}`,
          sex: Number(sequence[2]) % 2 === 1 ? 'male' : 'female',
          regionCode: region,
        });
      }),
    );
  });

  it('any 17 digits with their computed check character pass the check (whatever the date says)', () => {
    fc.assert(
      fc.property(digits(17), (body) => {
        const parsed = parseIdNumber(body + idCheckCharacter(body), TODAY);
        expect(parsed.ok || parsed.reason === 'birth_date').toBe(true);
      }),
    );
  });

  it('any single-character change to a valid ID number is refused', () => {
    const replacements = fc.constantFrom(...'0123456789X');
    fc.assert(
      fc.property(
        digits(6),
        birthDates,
        digits(3),
        fc.nat(17),
        replacements,
        (region, birth, sequence, position, replacement) => {
          const id = idNumberOf(region, birth, sequence);
          fc.pre(id[position] !== replacement);
          const typo = id.slice(0, position) + replacement + id.slice(position + 1);
          expect(parseIdNumber(typo, TODAY).ok).toBe(false);
        },
      ),
    );
  });
});

describe('masking an ID number for display', () => {
  it('shows the first four and the last four characters only', () => {
    expect(maskIdNumber('42010619900319123X')).toBe('4201**********123X');
    expect(maskIdNumber('11010519491231002x')).toBe('1101**********002X');
  });

  it('hides a value that is not a whole ID number completely', () => {
    expect(maskIdNumber('1101051949')).toBe('**********');
    expect(maskIdNumber('')).toBe('');
  });
});
