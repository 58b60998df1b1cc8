/**
 * Where a browser may be sent back to after the 长辈模式 switch, a sign-in of 用户空间 or the
 * console, or 支付宝认证: every return, back or next path the product takes from a request goes
 * through `returnPath`, so one function decides what leaves as a Location.
 */
export interface ReturnScope {
  /** The part of the site the path must stay in: `/` for any page, or a prefix such as `/account`. */
  within: string;
  /** What is used instead of anything refused. */
  fallback: string;
}

const BASE = 'https://return-path.invalid';
const MAX_LENGTH = 2048;

/**
 * Whitespace and control characters anywhere (the URL parser silently drops tabs and newlines, so
 * `/\t/evil.example` would become `//evil.example`), and backslashes anywhere (browsers read `\`
 * as `/` in a path).
 */
const UNSAFE_CHARACTER = /[\s\p{Cc}\\]/u;

/**
 * In the path, percent-encoded `/`, `\`, `.` and `%` (double encoding), and a `%` that encodes
 * nothing: none is needed by a page of ours, and each could turn into a separator or a dot segment
 * after one more decoding by some proxy or browser.
 */
const ENCODED_SEPARATOR = /%(?:2f|5c|2e|25)|%(?![0-9a-f]{2})/i;

/**
 * A path on this site inside `scope.within`, normalised (dot segments resolved, characters
 * percent-encoded as a browser would), or `scope.fallback`. The checks are made on the raw value
 * and again on the normalised one that is returned: `/.//evil.example` and `/a/..//evil.example`
 * normalise to `//evil.example`, which a browser reads as another host. The fragment is dropped.
 */
export function returnPath(raw: unknown, scope: ReturnScope): string {
  if (typeof raw !== 'string' || raw.length > MAX_LENGTH || !isPathOnly(raw)) return scope.fallback;
  // A split with a limit of 1 always gives one element, the path (empty before a `?` or `#`).
  const rawPath = raw.split(/[?#]/, 1)[0]!;
  if (ENCODED_SEPARATOR.test(rawPath)) return scope.fallback;
  // A path-absolute reference (one `/`, no backslash) against the base always parses, and on the
  // base's origin: the URL parser fails, or leaves the origin, only on a scheme, a host or a port,
  // which this input can not have. Only the path and query of the result are used in any case.
  const url = new URL(raw, BASE);
  const normalised = `${url.pathname}${url.search}`;
  if (!isPathOnly(normalised) || ENCODED_SEPARATOR.test(url.pathname)) return scope.fallback;
  return isWithin(url.pathname, scope.within) ? normalised : scope.fallback;
}

/** `/` then anything but a second `/`: an absolute path, never a scheme or a host. */
function isPathOnly(value: string): boolean {
  return value.startsWith('/') && !value.startsWith('//') && !UNSAFE_CHARACTER.test(value);
}

function isWithin(pathname: string, within: string): boolean {
  // The scope `/` is the prefix '', which every path (all start with `/`) is within.
  const prefix = within.replace(/\/+$/, '');
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}
