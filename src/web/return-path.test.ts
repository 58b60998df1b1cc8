import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { returnPath } from './return-path.js';

const ANY = { within: '/', fallback: '/account' };
const ACCOUNT = { within: '/account', fallback: '/account/level' };
const ORIGIN = 'https://id.example.gov.cn';

/** What a browser makes of a Location header sent from a page of ours. */
const followed = (location: string, from = `${ORIGIN}/account/sessions`) => new URL(location, from);

/** Ways attackers and scanners write "another site" as a return path. */
const HOSTILE = [
  '//evil.example/x',
  '///evil.example/x',
  '/\\evil.example/x',
  '\\\\evil.example/x',
  '/\\/evil.example/x',
  '/.//evil.example/x',
  '/./\\evil.example/x',
  '/a/..//evil.example/x',
  '/account/..//evil.example/x',
  '/account/../..//evil.example/x',
  '/a/%2e%2e//evil.example/x',
  '/%2e%2e//evil.example/x',
  '/%2F/evil.example/x',
  '/%2f%2fevil.example/x',
  '%2F%2Fevil.example/x',
  '/%5Cevil.example/x',
  '/%5c%5cevil.example/x',
  '/%252F%252Fevil.example/x',
  '/%25%32%66/evil.example/x',
  '/%252e%252e//evil.example/x',
  '/\t/evil.example/x',
  '/\n/evil.example/x',
  '/\r\n/evil.example/x',
  '/\u0000/evil.example',
  '\t//evil.example/x',
  ' //evil.example/x',
  '/ /evil.example/x',
  '/\u3000/evil.example/x',
  'https://evil.example/x',
  'http:evil.example/x',
  'HTTPS://evil.example',
  'https:/evil.example',
  '//evil.example@id.example.gov.cn/',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  ' javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'evil.example/x',
  '',
  '?next=//evil.example',
  '#//evil.example',
];

describe('returnPath: one decision for every return path', () => {
  it.each(HOSTILE)('refuses %j', (raw) => {
    expect(returnPath(raw, ANY)).toBe('/account');
    expect(returnPath(raw, ACCOUNT)).toBe('/account/level');
  });

  it('refuses what is not a string, and very long values', () => {
    for (const raw of [undefined, null, 42, ['/account', '//evil.example'], { toString: () => '/account' }])
      expect(returnPath(raw, ANY)).toBe('/account');
    expect(returnPath(`/account/${'a'.repeat(3000)}`, ANY)).toBe('/account');
    // The limit is 2048 characters, that many included.
    const longest = `/account/${'a'.repeat(2048 - '/account/'.length)}`;
    expect(returnPath(longest, ANY)).toBe(longest);
    expect(returnPath(`${longest}a`, ANY)).toBe('/account');
  });

  it('refuses encoded dot segments the URL parser would resolve before the normalised check', () => {
    // Parsed, `/account/%2e%2e/console` is `/console`: only the raw value still shows the trick.
    expect(returnPath('/account/%2e%2e/console', ANY)).toBe('/account');
    expect(returnPath('/account/%2E%2E/console', ANY)).toBe('/account');
    expect(returnPath('/account/sessions?q=%2e%2e', ANY)).toBe('/account/sessions?q=%2e%2e');
  });

  it('refuses a % in the path that does not encode a byte, even with one hex digit after it', () => {
    for (const raw of ['/account/%', '/account/%g1', '/account/%az', '/account/%a/x'])
      expect(returnPath(raw, ANY)).toBe('/account');
    expect(returnPath('/account/%E4%BD%A0', ANY)).toBe('/account/%E4%BD%A0');
  });

  it.each([
    ['/account', '/account'],
    ['/account/sessions', '/account/sessions'],
    ['/account/sessions?page=2&q=%2F', '/account/sessions?page=2&q=%2F'],
    ['/interaction/abc-123?tab=sms', '/interaction/abc-123?tab=sms'],
    ['/account/./sessions', '/account/sessions'],
    ['/account/x/../sessions', '/account/sessions'],
    ['/account/sessions#top', '/account/sessions'],
    ['/account/用户', '/account/%E7%94%A8%E6%88%B7'],
  ])('keeps the page %j as %j', (raw, expected) => {
    expect(returnPath(raw, ANY)).toBe(expected);
  });

  it('keeps a path inside its part of the site', () => {
    expect(returnPath('/account/level', ACCOUNT)).toBe('/account/level');
    expect(returnPath('/account', ACCOUNT)).toBe('/account');
    for (const raw of ['/accounts', '/account-evil', '/console/sites', '/account/../console/sites', '/'])
      expect(returnPath(raw, ACCOUNT)).toBe('/account/level');
    expect(returnPath('/console/sites?q=1', { within: '/console', fallback: '/console/' })).toBe(
      '/console/sites?q=1',
    );
    expect(returnPath('/consoles', { within: '/console', fallback: '/console/' })).toBe('/console/');
  });

  it('reads a part of the site written with trailing slashes as the same part', () => {
    for (const within of ['/account/', '/account//']) {
      const scope = { within, fallback: '/account/level' };
      expect(returnPath('/account', scope)).toBe('/account');
      expect(returnPath('/account/sessions', scope)).toBe('/account/sessions');
      expect(returnPath('/accounts', scope)).toBe('/account/level');
    }
  });

  /** Strings built from the pieces that make paths dangerous, mixed with ordinary characters. */
  const pieces = fc.constantFrom(
    '/',
    '//',
    '\\',
    '.',
    '..',
    '/./',
    '/../',
    '%2f',
    '%2F',
    '%5c',
    '%2e',
    '%25',
    '%',
    '@',
    ':',
    '?',
    '#',
    '\t',
    '\n',
    '\r',
    ' ',
    '\u0000',
    '\u3000',
    'evil.example',
    'account',
    'javascript:',
    'https:',
    'a',
    '用',
  );
  const hostileStrings = fc.oneof(
    fc.array(pieces, { maxLength: 12 }).map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );

  it('whatever it is given, the result is a path of this origin that a browser will not read otherwise', () => {
    fc.assert(
      fc.property(hostileStrings, (raw) => {
        const out = returnPath(raw, ANY);
        expect(out.startsWith('/')).toBe(true);
        expect(out.startsWith('//')).toBe(false);
        expect(out).not.toMatch(/[\\\s\p{Cc}]/u);
        // Resolved from a page at any depth, it stays on this origin…
        for (const from of [`${ORIGIN}/`, `${ORIGIN}/account/sessions`, `${ORIGIN}/a/b/c/`])
          expect(followed(out, from).origin).toBe(ORIGIN);
        // …and asking again changes nothing (what leaves is what was checked).
        expect(returnPath(out, ANY)).toBe(out);
        // Decoded once more, as a careless proxy might, it still does not name another host.
        // Byte by byte: a lone escape such as %C3 is not UTF-8, and decodeURIComponent would throw.
        expect(decodedBytes(out.split('?')[0]!)).not.toMatch(/^\/[/\\]|[\\]/);
      }),
      { numRuns: 5000 },
    );
  });

  it('stays inside its part of the site for any input', () => {
    fc.assert(
      fc.property(
        hostileStrings.map((s) => `/account${s}`),
        (raw) => {
          const out = returnPath(raw, ACCOUNT);
          const path = followed(out).pathname;
          expect(path === '/account' || path.startsWith('/account/')).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** One percent-decoding, each escape taken as one byte, so that a malformed sequence still decodes. */
function decodedBytes(path: string): string {
  return path.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
