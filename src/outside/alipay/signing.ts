import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * Alipay's RSA2 signatures (SHA256withRSA, PKCS#1 v1.5) on gateway requests and
 * responses, per Alipay's open platform signing rules (README.md, 支付宝 (Alipay)).
 */

/**
 * The text a request signature covers: every parameter but `sign`, empty values
 * left out, sorted by name in ASCII order, `k=v` joined with `&`, values raw.
 */
export function requestSigningContent(params: Readonly<Record<string, string>>): string {
  return (
    Object.entries(params)
      .filter(([name, value]) => name !== 'sign' && value !== '')
      // Code-unit order, not localeCompare: Alipay sorts by ASCII, which locale collation does not.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`)
      .join('&')
  );
}

/** The base64 `sign` parameter of a gateway request. */
export function signRequest(params: Readonly<Record<string, string>>, privateKey: KeyObject): string {
  return signText(requestSigningContent(params), privateKey);
}

/** SHA256withRSA over the UTF-8 bytes of `text`, base64. */
export function signText(text: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/** Whether `signature` (base64) is a valid SHA256withRSA signature of `text`. Never throws. */
export function verifyText(text: string, signature: string, publicKey: KeyObject): boolean {
  // Buffer.from skips characters that are not base64; a signature that is not
  // strictly base64 must fail rather than verify after silent repair.
  const compact = signature.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return false;
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), publicKey, Buffer.from(compact, 'base64'));
  } catch {
    return false;
  }
}

export type ResponseFailureReason =
  /** The body is not a JSON object. */
  | 'malformed'
  /** Neither `<method>_response` nor `error_response` is in the body. */
  | 'missing_node'
  /** The response node appears twice; which one a parser keeps differs, so neither is trusted. */
  | 'duplicate_node'
  | 'missing_sign'
  | 'bad_signature';

export type VerifiedResponse =
  | {
      ok: true;
      /** The response node, parsed from exactly the text the signature covers. */
      node: Record<string, unknown>;
      /** `alipay_system_oauth_token_response`, or `error_response`. */
      nodeName: string;
    }
  | { ok: false; reason: ResponseFailureReason };

/** The name of a method's response node: `alipay.user.info.share` → `alipay_user_info_share_response`. */
export function responseNodeName(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * Checks Alipay's signature on a gateway answer. The signature covers the exact
 * text of the response node's value as Alipay wrote it (escapes such as `\/`
 * and `\u4e2d` included), so the value is cut out of the raw body: serialising
 * a parsed object again would produce different bytes.
 */
export function verifyResponse(body: string, method: string, publicKey: KeyObject): VerifiedResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isPlainObject(parsed)) return { ok: false, reason: 'malformed' };
  const members = topLevelMembers(body);
  if (!members) return { ok: false, reason: 'malformed' };

  let found: { nodeName: string; text: string } | undefined;
  for (const nodeName of [responseNodeName(method), 'error_response']) {
    const matches = members.filter((member) => member.name === nodeName);
    if (matches.length > 1) return { ok: false, reason: 'duplicate_node' };
    const match = matches[0];
    if (match) {
      found = { nodeName, text: body.slice(match.start, match.end) };
      break;
    }
  }
  if (!found) return { ok: false, reason: 'missing_node' };

  const signature = parsed['sign'];
  if (typeof signature !== 'string' || signature === '') return { ok: false, reason: 'missing_sign' };
  if (!verifyText(found.text, signature, publicKey)) return { ok: false, reason: 'bad_signature' };

  const node: unknown = JSON.parse(found.text);
  if (!isPlainObject(node)) return { ok: false, reason: 'malformed' };
  return { ok: true, node, nodeName: found.nodeName };
}

export interface JsonMember {
  /** The member name, unescaped. */
  name: string;
  /** Offsets of the member's value text in the body: `body.slice(start, end)`. */
  start: number;
  end: number;
}

/**
 * The members of the top-level object of a JSON text, each with the offsets of
 * its value's raw text. Walks the text itself, skipping strings (and the quotes
 * and braces escaped inside them) so that only structural braces are counted.
 * Undefined when the text is not a single JSON object.
 */
export function topLevelMembers(text: string): JsonMember[] | undefined {
  const members: JsonMember[] = [];
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipWhitespace(text, i + 1);
  if (text[i] === '}') return skipWhitespace(text, i + 1) === text.length ? members : undefined;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const nameEnd = endOfString(text, i);
    if (nameEnd < 0) return undefined;
    let name: unknown;
    try {
      name = JSON.parse(text.slice(i, nameEnd));
    } catch {
      return undefined;
    }
    if (typeof name !== 'string') return undefined;
    i = skipWhitespace(text, nameEnd);
    if (text[i] !== ':') return undefined;
    const start = skipWhitespace(text, i + 1);
    const end = endOfValue(text, start);
    if (end < 0) return undefined;
    members.push({ name, start, end });
    i = skipWhitespace(text, end);
    if (text[i] === ',') {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    if (text[i] === '}') return skipWhitespace(text, i + 1) === text.length ? members : undefined;
    return undefined;
  }
}

/** Index just past the closing quote of the string starting at `start`, or -1. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    // A backslash always takes the next character with it: `\"` and `\\` alike.
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}

/** Index just past the value starting at `start`, or -1. */
function endOfValue(text: string, start: number): number {
  const first = text[start];
  if (first === undefined) return -1;
  if (first === '"') return endOfString(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = start; i < text.length; ) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(text, i);
        if (i < 0) return -1;
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // Numbers, true, false, null: up to the next delimiter.
  let i = start;
  while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
  return i === start ? -1 : i;
}

function skipWhitespace(text: string, start: number): number {
  let i = start;
  // JSON's whitespace is exactly these four; a BOM or NBSP is not skipped.
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return i;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), the gateway's `timestamp`. */
export function formatBeijingTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('formatBeijingTimestamp: invalid date');
  // Shifting the instant by eight hours and reading it as UTC gives Beijing's wall clock.
  const iso = new Date(date.getTime() + BEIJING_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
