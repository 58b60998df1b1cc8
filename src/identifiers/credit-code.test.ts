import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  creditCodeCheckCharacter,
  isLegalType,
  LEGAL_TYPES,
  type LegalType,
  legalTypeForPrefix,
  parseCreditCode,
} from './credit-code.js';

const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** A valid code from a prefix and the 15 characters after it, the check character computed. */
function creditCodeOf(prefix: string, rest: string): string {
  const body = prefix + rest;
  return body + creditCodeCheckCharacter(body);
}

describe('a legal person enters the unified social credit code of the organisation', () => {
  it('accepts a valid GB 32100-2015 enterprise code', () => {
    expect(parseCreditCode('91350100M000100Y43', 'enterprise')).toEqual({
      ok: true,
      creditCode: '91350100M000100Y43',
      prefix: '91',
    });
  });

  it('accepts codes of well-known companies as printed on their business licences', () => {
    for (const code of ['91330100799655058B', '9144030071526726XG', '914403001922038216']) {
      expect(parseCreditCode(code, 'enterprise')).toMatchObject({ ok: true, creditCode: code });
    }
  });

  it('accepts lower case, spaces around, and full-width characters, and stores upper case', () => {
    expect(parseCreditCode('  91350100m000100y43 ')).toMatchObject({
      ok: true,
      creditCode: '91350100M000100Y43',
    });
    expect(parseCreditCode('９１３５０１００Ｍ０００１００Ｙ４３')).toMatchObject({
      ok: true,
      creditCode: '91350100M000100Y43',
    });
  });

  it('refuses a wrong check character with a message saying so', () => {
    expect(parseCreditCode('91350100M000100Y44')).toEqual({
      ok: false,
      reason: 'check_character',
      message: '统一社会信用代码校验位不正确',
    });
  });

  it.each([
    ['too short', '91350100M000100Y4'],
    ['too long', '91350100M000100Y433'],
    ['the letter O, which the charset leaves out', '91350100O000100Y43'],
    ['the letters I, Z, S, V', '91350100IZSV00100Y'],
    ['a letter in the region code', '9135A100M000100Y43'],
    ['a space inside', '91350100 M000100Y43'],
    ['the old 9-character organisation code alone', 'M000100Y4'],
    ['nothing at all', ''],
  ])('refuses %s as a format error', (_story, input) => {
    expect(parseCreditCode(input)).toEqual({
      ok: false,
      reason: 'format',
      message: '统一社会信用代码格式不正确',
    });
  });

  it('refuses an enterprise code for a public institution, naming the prefix it expects', () => {
    expect(parseCreditCode('91350100M000100Y43', 'public_institution')).toEqual({
      ok: false,
      reason: 'prefix',
      message: '统一社会信用代码与法人类型不符：事业单位的代码应以 12 开头',
    });
  });

  it('gives the enterprise message of the spec for a non-enterprise code', () => {
    const publicInstitution = creditCodeOf('12', '350100M000100Y4');
    expect(parseCreditCode(publicInstitution, 'enterprise')).toMatchObject({
      reason: 'prefix',
      message: '统一社会信用代码与法人类型不符：企业的代码应以 91 开头',
    });
  });

  it('lists all three 民政 prefixes for social organisations', () => {
    expect(parseCreditCode('91350100M000100Y43', 'social_organisation')).toMatchObject({
      reason: 'prefix',
      message: '统一社会信用代码与法人类型不符：社团/民非/基金会的代码应以 51、52 或 53 开头',
    });
    for (const prefix of ['51', '52', '53']) {
      expect(parseCreditCode(creditCodeOf(prefix, '350100MJ0000000'), 'social_organisation')).toMatchObject({
        ok: true,
        prefix,
      });
    }
  });

  it('refuses prefixes that belong to no type on offer (13, 31, 32, 59, 99) whatever the type chosen', () => {
    for (const prefix of ['13', '31', '32', '59', '99']) {
      const code = creditCodeOf(prefix, '350100MB0000000');
      expect(parseCreditCode(code)).toMatchObject({ ok: true, prefix });
      for (const type of Object.keys(LEGAL_TYPES) as LegalType[]) {
        expect(parseCreditCode(code, type)).toMatchObject({ ok: false, reason: 'prefix' });
      }
    }
  });
});

describe('the table of legal types', () => {
  it('labels and prefixes each type as the portal does', () => {
    expect(LEGAL_TYPES).toEqual({
      enterprise: { label: '企业', prefixes: ['91'] },
      farmer_cooperative: { label: '农专社', prefixes: ['93'] },
      individual_business: { label: '个体', prefixes: ['92'] },
      public_institution: { label: '事业单位', prefixes: ['12'] },
      social_organisation: { label: '社团/民非/基金会', prefixes: ['51', '52', '53'] },
      government_organ: { label: '政府机关', prefixes: ['11'] },
    });
  });

  it('finds the type of a prefix, and none for a prefix outside the table', () => {
    expect(legalTypeForPrefix('93')).toBe('farmer_cooperative');
    expect(legalTypeForPrefix('52')).toBe('social_organisation');
    expect(legalTypeForPrefix('13')).toBeUndefined();
  });

  it('recognises the names of the types, and nothing inherited from Object', () => {
    expect(isLegalType('government_organ')).toBe(true);
    expect(isLegalType('toString')).toBe(false);
    expect(isLegalType('企业')).toBe(false);
  });
});

describe('the check character', () => {
  it('is the one of the example, and 0 when the sum is a multiple of 31', () => {
    expect(creditCodeCheckCharacter('91350100M000100Y4')).toBe('3');
    // All zeros sum to 0: 31 − 0 = 31, which stands for 0.
    expect(creditCodeCheckCharacter('00000000000000000')).toBe('0');
  });

  it('is only computed over 17 characters of the charset', () => {
    expect(() => creditCodeCheckCharacter('91350100M000100Y')).toThrow(RangeError);
    expect(() => creditCodeCheckCharacter('91350100O000100Y4')).toThrow(RangeError);
  });
});

const codeCharacters = (length: number) =>
  fc.array(fc.constantFrom(...CHARSET), { minLength: length, maxLength: length }).map((cs) => cs.join(''));
const digits = (length: number) => fc.stringMatching(new RegExp(`^\\d{${length}}$`));
// Half of the prefixes come from the table, so that every legal type is met often.
const tablePrefixes = Object.values(LEGAL_TYPES).flatMap((info) => info.prefixes);
const prefixes = fc.oneof(codeCharacters(2), fc.constantFrom(...tablePrefixes));
const bodies = fc
  .tuple(prefixes, digits(6), codeCharacters(9))
  .map(([prefix, region, organisation]) => prefix + region + organisation);

describe('properties of credit codes', () => {
  it('every well-formed 17-character body with its computed check character is accepted', () => {
    fc.assert(
      fc.property(bodies, (body) => {
        const code = body + creditCodeCheckCharacter(body);
        expect(parseCreditCode(code)).toEqual({ ok: true, creditCode: code, prefix: body.slice(0, 2) });
      }),
    );
  });

  it('any single-character change to a valid code is refused', () => {
    // The charset, the letters it leaves out, and a few other things people type.
    const replacements = fc.constantFrom(...`${CHARSET}IOZSV-_ `);
    fc.assert(
      fc.property(bodies, fc.nat(17), replacements, (body, position, replacement) => {
        const code = body + creditCodeCheckCharacter(body);
        fc.pre(code[position] !== replacement);
        const typo = code.slice(0, position) + replacement + code.slice(position + 1);
        expect(parseCreditCode(typo).ok).toBe(false);
      }),
    );
  });

  it('a valid code is accepted for exactly the legal type its prefix belongs to', () => {
    const types = Object.keys(LEGAL_TYPES) as LegalType[];
    fc.assert(
      fc.property(bodies, fc.constantFrom(...types), (body, type) => {
        const code = body + creditCodeCheckCharacter(body);
        const belongs = LEGAL_TYPES[type].prefixes.includes(body.slice(0, 2));
        expect(parseCreditCode(code, type).ok).toBe(belongs);
      }),
    );
  });
});
