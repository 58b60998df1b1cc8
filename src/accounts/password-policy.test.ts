import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idCheckCharacter } from '../identifiers/id-number.js';
import { characterClasses, checkPassword, isCommonPassword } from './password-policy.js';

const PHONE = '+8613812345678';
const ID_NUMBER = '11010519491231002X';
const CONTEXT = { phone: PHONE, idNumber: ID_NUMBER };

const refused = (reason: string, message: string) => ({ ok: false, reason, message });
const TOO_SHORT_OR_LONG = refused('length', '密码长度应为8至64个字符');
const TOO_FEW_CLASSES = refused('classes', '密码须包含数字、字母、符号中的至少两类');
const CONTAINS_IDENTIFIER = refused('contains_identifier', '密码不能包含手机号码或身份证号码');
const TOO_COMMON = refused('common', '该密码过于常见，请换一个');

describe('a resident chooses a password', () => {
  it.each([
    ['letters and digits', 'tigerlily7'],
    ['letters and a symbol from the guide', 'Tiger~Lily'],
    ['digits and symbols', '2024!@#$'],
    ['Chinese characters count as letters', '密码安全2024'],
    ['Chinese punctuation counts as a symbol', '密码，真的安全。'],
    ['accented letters count as letters', 'ñandú-ñandú'],
    ['exactly 8 characters', 'ab12cd34'],
    ['exactly 64 characters', `${'ab1-'.repeat(16)}`],
  ])('accepts %s', (_story, password) => {
    expect(checkPassword(password, CONTEXT)).toEqual({ ok: true });
  });

  it('counts characters as code points, not UTF-16 units', () => {
    // 𠮷 is one character but two UTF-16 units.
    expect(checkPassword('𠮷𠮷𠮷𠮷1234')).toEqual({ ok: true });
    expect(checkPassword('𠮷𠮷𠮷𠮷123')).toEqual(TOO_SHORT_OR_LONG);
    expect(checkPassword(`${'😀'.repeat(63)}a`)).toEqual({ ok: true });
  });

  it('refuses fewer than 8 and more than 64 characters, and never cuts a long one down', () => {
    expect(checkPassword('ab1!cd2')).toEqual(TOO_SHORT_OR_LONG);
    expect(checkPassword('')).toEqual(TOO_SHORT_OR_LONG);
    expect(checkPassword(`${'ab1-'.repeat(16)}x`)).toEqual(TOO_SHORT_OR_LONG);
  });

  it.each([
    ['only lower-case letters', 'abcdefgh'],
    ['letters of both cases, which are one class', 'AbCdEfGhIj'],
    ['only digits', '20240601'],
    ['only symbols', '~!@#$%*_'],
    ['letters and spaces, since a space is no symbol', 'abcd efgh'],
    ['fourteen letters', 'qwertzuiopasdf'],
    ['fifteen spaces, which are no class at all', ' '.repeat(15)],
  ])('refuses %s below the long-password length', (_story, password) => {
    expect(checkPassword(password)).toEqual(TOO_FEW_CLASSES);
  });

  it.each([
    ['fifteen letters', 'correcthorsebat'],
    ['a Chinese sentence', '今天天气很好我们一起去公园散步'],
    ['fifteen digits', '271828182845904'],
    ['a long passphrase', 'correct horse battery staple'],
  ])('accepts one class from 15 characters on: %s', (_story, password) => {
    expect(checkPassword(password)).toEqual({ ok: true });
  });

  it('refuses a password with the phone number inside, however the number was stored', () => {
    for (const phone of ['+8613812345678', '13812345678', '138 1234 5678']) {
      expect(checkPassword('me13812345678!', { phone })).toEqual(CONTAINS_IDENTIFIER);
    }
    // Typed with a full-width input method, it is still the phone number.
    expect(checkPassword('me１３８１２３４５６７８!', { phone: PHONE })).toEqual(CONTAINS_IDENTIFIER);
  });

  it('refuses a password with the ID number inside, whatever the case of X', () => {
    expect(checkPassword('id:11010519491231002x', CONTEXT)).toEqual(CONTAINS_IDENTIFIER);
    expect(checkPassword('id:11010519491231002X', { idNumber: '11010519491231002x' })).toEqual(
      CONTAINS_IDENTIFIER,
    );
  });

  it('accepts part of the phone number, and ignores identifiers that are not well formed', () => {
    expect(checkPassword('me1381234567!', CONTEXT)).toEqual({ ok: true });
    expect(checkPassword('my-number-123', { phone: '123', idNumber: '123' })).toEqual({ ok: true });
  });

  it.each([['password1'], ['PassWord1'], ['1qaz2wsx'], ['p@ssw0rd'], ['1q2w3e4r5t'], ['ｐａｓｓｗｏｒｄ１']])(
    'refuses the common password %s',
    (password) => {
      expect(checkPassword(password, CONTEXT)).toEqual(TOO_COMMON);
    },
  );

  it('works without any context', () => {
    expect(checkPassword('tigerlily7')).toEqual({ ok: true });
  });
});

describe('the list of common passwords', () => {
  const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
  const entries = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

  it('holds the 10,000 most common passwords and names its source and licence', () => {
    expect(entries).toHaveLength(10_000);
    expect(text.startsWith('#')).toBe(true);
    expect(text).toMatch(/@zxcvbn-ts\/language-common/);
    expect(text).toMatch(/MIT/);
  });

  it('refuses every entry, in any case, as too common when no earlier rule refuses it', () => {
    for (const entry of entries) {
      for (const variant of [entry, entry.toUpperCase()]) {
        const result = checkPassword(variant);
        expect(result.ok).toBe(false);
        const length = Array.from(variant).length;
        const classesNeeded = length >= 15 ? 1 : 2;
        if (length >= 8 && characterClasses(variant).size >= classesNeeded) {
          expect(result).toEqual(TOO_COMMON);
        }
      }
    }
  });

  it('does not take its comment lines for passwords', () => {
    expect(isCommonPassword(text.split('\n')[0]!)).toBe(false);
  });
});

// Characters by class, with some beyond ASCII in each.
const DIGITS = [...'0123456789', '٣', '７'];
const LETTERS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', ...'éßΩжй张三李四密码', '𠮷'];
const SYMBOLS = [...'`~!_@#$%*', ...'-+=()[]{}<>?/\\|"\':;,.^&', ...'，。￥…·', '😀'];
const POOLS = { digit: DIGITS, letter: LETTERS, symbol: SYMBOLS } as const;
type ClassName = keyof typeof POOLS;

const fromPool = (names: readonly ClassName[]) => fc.constantFrom(...names.flatMap((name) => POOLS[name]));

/** Passwords of `min`–`max` code points that use every class in `names` and no other. */
function passwordsOf(names: readonly ClassName[], min: number, max: number): fc.Arbitrary<string> {
  const required = fc.tuple(...names.map((name) => fc.constantFrom(...POOLS[name])));
  const rest = fc.array(fromPool(names), { minLength: min - names.length, maxLength: max - names.length });
  return fc
    .tuple(required, rest, fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }))
    .map(([must, others, positions]) => {
      const characters = [...others];
      must.forEach((character, i) => {
        characters.splice(positions[i]! % (characters.length + 1), 0, character);
      });
      return characters.join('');
    });
}

const twoOrMoreClasses = fc.constantFrom<ClassName[]>(
  ['digit', 'letter'],
  ['digit', 'symbol'],
  ['letter', 'symbol'],
  ['digit', 'letter', 'symbol'],
);
const oneClass = fc.constantFrom<ClassName[]>(['digit'], ['letter'], ['symbol']);
const codePoints = (min: number, max: number) => fc.nat({ max: max - min }).map((n) => n + min);

/** A valid password of up to `max` code points, already clear of the list. */
const validPasswords = (max: number) =>
  twoOrMoreClasses
    .chain((names) => passwordsOf(names, 8, max))
    .filter((password) => !isCommonPassword(password));

const anyCharacter = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((codePoint) => codePoint < 0xd800 || codePoint > 0xdfff)
  .map((codePoint) => String.fromCodePoint(codePoint));

describe('properties of the password rule', () => {
  it('accepts any password of 8 to 64 characters with at least two classes', () => {
    fc.assert(
      fc.property(validPasswords(64), (password) => {
        expect(checkPassword(password, CONTEXT)).toEqual({ ok: true });
      }),
    );
  });

  it('refuses anything shorter than 8 or longer than 64 characters', () => {
    const lengths = fc.oneof(codePoints(0, 7), codePoints(65, 200));
    fc.assert(
      fc.property(
        lengths.chain((n) => fc.array(anyCharacter, { minLength: n, maxLength: n })),
        (characters) => {
          expect(checkPassword(characters.join(''), CONTEXT)).toEqual(TOO_SHORT_OR_LONG);
        },
      ),
    );
  });

  it('refuses a single class below 15 characters and accepts it from 15 on', () => {
    fc.assert(
      fc.property(
        oneClass.chain((names) => passwordsOf(names, 8, 64)),
        (password) => {
          fc.pre(!isCommonPassword(password));
          const long = Array.from(password).length >= 15;
          expect(checkPassword(password, CONTEXT)).toEqual(long ? { ok: true } : TOO_FEW_CLASSES);
        },
      ),
    );
  });

  it('refuses any otherwise valid password with the phone number anywhere inside', () => {
    const phones = fc.stringMatching(/^1[3-9]\d{9}$/);
    const storedAs = fc.constantFrom(
      (national: string) => `+86${national}`,
      (national: string) => national,
    );
    fc.assert(
      fc.property(validPasswords(53), phones, storedAs, fc.nat(), (password, national, store, at) => {
        const characters = Array.from(password);
        characters.splice(at % (characters.length + 1), 0, national);
        expect(checkPassword(characters.join(''), { phone: store(national) })).toEqual(CONTAINS_IDENTIFIER);
      }),
    );
  });

  it('refuses any otherwise valid password with the ID number anywhere inside, in either case', () => {
    const idNumbers = fc.stringMatching(/^\d{17}$/).map((body) => body + idCheckCharacter(body));
    fc.assert(
      fc.property(validPasswords(46), idNumbers, fc.boolean(), fc.nat(), (password, idNumber, lower, at) => {
        const typed = lower ? idNumber.toLowerCase() : idNumber;
        const characters = Array.from(password);
        characters.splice(at % (characters.length + 1), 0, typed);
        expect(checkPassword(characters.join(''), { idNumber })).toEqual(CONTAINS_IDENTIFIER);
      }),
    );
  });
});
