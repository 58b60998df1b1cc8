import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskName } from './mask.js';

// CJK Unified Ideographs, the characters of nearly every Chinese name.
const hanzi = fc.integer({ min: 0x4e00, max: 0x9fa5 }).map((codePoint) => String.fromCodePoint(codePoint));

describe('a name is shown masked on the account page', () => {
  it.each([
    ['a two-character name', '张三', '张*'],
    ['a compound surname', '欧阳娜娜', '欧***'],
    ['a single character', '李', '*'],
    ['a name with a character outside the BMP', '吉𠮷', '吉*'],
    ['a name with a middle dot', '阿依·买买提', '阿*****'],
    ['surrounding spaces', ' 王五 ', '王*'],
    ['nothing', '', ''],
  ])('masks %s', (_story, name, masked) => {
    expect(maskName(name)).toBe(masked);
  });

  it('keeps only the first character and one star for each other character', () => {
    fc.assert(
      fc.property(fc.string({ unit: hanzi, minLength: 2, maxLength: 8 }), (name) => {
        expect(maskName(name)).toBe(name[0] + '*'.repeat(name.length - 1));
      }),
    );
  });
});
