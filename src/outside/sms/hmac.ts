import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseTooLarge, readLimited } from '../read-limited.js';

/**
 * The signed JSON requests of the SMS gateway and of the identity verification service
 * (src/outside/sms/README.md): base64 HMAC-SHA256(secret, `${timestamp}\n${nonce}\n${rawBody}`)
 * in X-Unified-Id-Signature. Both services share this scheme, so it lives here once: the
 * signing and checking halves (the fake servers check exactly what a real service checks)
 * and the one HTTP client both of our implementations use.
 */

/** Lower-case, as node:http presents incoming header names. */
export const SIGNATURE_HEADERS = {
  appId: 'x-unified-id-app-id',
  timestamp: 'x-unified-id-timestamp',
  nonce: 'x-unified-id-nonce',
  signature: 'x-unified-id-signature',
} as const;

/** A request is accepted this far either side of the receiver's clock. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

export interface RequestSignature {
  /** Unix seconds, decimal digits. */
  timestamp: string;
  nonce: string;
  /** base64 of the 32-byte HMAC-SHA256. */
  signature: string;
}

// Digits only: `Number('')` is 0 and `Number(' 1e3 ')` is 1000, and a NaN would slip past a
// window comparison (every comparison with NaN is false).
const TIMESTAMP = /^\d{1,12}$/;
// Visible ASCII without spaces: the nonce sits between newlines in the signed text, so a nonce
// with a newline could move the boundary between nonce and body.
const NONCE = /^[\x21-\x7e]{8,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The text the signature covers. */
export function signingText(timestamp: string, nonce: string, rawBody: string): string {
  return `${timestamp}\n${nonce}\n${rawBody}`;
}

function mac(secret: string, timestamp: string, nonce: string, rawBody: string): Buffer {
  return createHmac('sha256', secret)
    .update(signingText(timestamp, nonce, rawBody), 'utf8')
    .digest();
}

/** A fresh timestamp and nonce; both also go into the SMS request body, so they are made first. */
export function newRequestStamp(now: number = Date.now()): { timestamp: string; nonce: string } {
  return { timestamp: String(Math.floor(now / 1000)), nonce: randomBytes(16).toString('base64url') };
}

export function signRequest(
  secret: string,
  rawBody: string,
  stamp: { timestamp: string; nonce: string },
): RequestSignature {
  return {
    timestamp: stamp.timestamp,
    nonce: stamp.nonce,
    signature: mac(secret, stamp.timestamp, stamp.nonce, rawBody).toString('base64'),
  };
}

export type SignatureVerdict = { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'bad_signature' };

/**
 * Checks a received request's signature headers against its raw body. Stateless: a receiver
 * that must refuse replays remembers the nonces it saw within the window.
 */
export function verifyRequest(
  secret: string,
  rawBody: string,
  headers: Partial<Record<keyof RequestSignature, string | undefined>>,
  now: number = Date.now(),
): SignatureVerdict {
  const { timestamp, nonce, signature } = headers;
  if (!timestamp || !nonce || !signature) return { ok: false, reason: 'malformed' };
  if (!TIMESTAMP.test(timestamp) || !NONCE.test(nonce)) return { ok: false, reason: 'malformed' };
  // Buffer.from skips characters that are not base64; a damaged signature must fail, not be repaired.
  if (!BASE64.test(signature) || signature.length % 4 !== 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(now / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS)
    return { ok: false, reason: 'stale' };
  const expected = mac(secret, timestamp, nonce, rawBody);
  const given = Buffer.from(signature, 'base64');
  // The length of an HMAC-SHA256 is public; only the comparison of its bytes must not leak.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  return { ok: true };
}

export interface SignedJsonClientOptions {
  url: string;
  appId: string;
  secret: string;
  /**
   * The budget of the whole call, retries and their pauses included: a person is waiting on
   * the page, so two retries must not triple the wait.
   */
  timeoutMs?: number;
  /** Further attempts after a connection error or a 5xx answer; never after a 4xx or a timeout. */
  retries?: number;
  /** The clock that stamps requests (tests move it to exercise the receiver's window). */
  now?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRIES = 2;
const BACKOFF_MS = 100;
// Both services answer a few dozen bytes; anything this large is not them.
const MAX_ANSWER_BYTES = 64 * 1024;

export type SignedCallFailureReason =
  /** No complete answer within the budget. */
  | 'timeout'
  /** Connection refused, reset or otherwise not made, on every attempt. */
  | 'unreachable'
  /** An HTTP status other than 2xx (5xx after the retries). */
  | 'http_status'
  /** A 2xx answer that is not a JSON value of reasonable size. */
  | 'bad_answer';

/** Why a signed call failed. The message names the URL and status, never the request body. */
export class SignedCallFailed extends Error {
  override name = 'SignedCallFailed';
  constructor(
    readonly reason: SignedCallFailureReason,
    message: string,
    readonly details: { httpStatus?: number; answerCode?: string; attempts: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Checks options once, at start-up, so a misconfiguration fails there rather than on a citizen's request. */
export function checkClientOptions(options: SignedJsonClientOptions, what: string): void {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`${what}: the URL is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`${what}: the URL must be http(s)`);
  if (!options.appId) throw new Error(`${what}: the app id is empty`);
  if (!options.secret) throw new Error(`${what}: the secret is empty`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`${what}: timeoutMs must be > 0`);
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0 || retries > 5)
    throw new Error(`${what}: retries must be 0–5`);
}

/**
 * POSTs one signed JSON request and returns the parsed 2xx answer. `buildBody` is called for
 * each attempt with that attempt's timestamp and nonce, so a retry is a fresh request that a
 * receiver refusing replayed nonces still accepts.
 */
export async function postSignedJson(
  options: SignedJsonClientOptions,
  buildBody: (stamp: { timestamp: string; nonce: string }) => unknown,
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const now = options.now ?? Date.now;
  const signal = AbortSignal.timeout(timeoutMs);
  let attempts = 0;
  let lastFailure: SignedCallFailed | undefined;

  const timedOut = (cause: unknown) =>
    new SignedCallFailed(
      'timeout',
      `${options.url}: no complete answer within ${timeoutMs} ms`,
      { attempts },
      { cause },
    );

  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      try {
        await sleep(BACKOFF_MS * 2 ** (attempt - 1), undefined, { signal });
      } catch (err) {
        throw timedOut(err);
      }
    }
    attempts++;
    const stamp = newRequestStamp(now());
    const body = JSON.stringify(buildBody(stamp));
    const signed = signRequest(options.secret, body, stamp);
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          [SIGNATURE_HEADERS.appId]: options.appId,
          [SIGNATURE_HEADERS.timestamp]: signed.timestamp,
          [SIGNATURE_HEADERS.nonce]: signed.nonce,
          [SIGNATURE_HEADERS.signature]: signed.signature,
        },
        body,
        signal,
        // A redirect is a misconfigured URL: answered as a non-2xx status, not followed with our body.
        redirect: 'manual',
      });
    } catch (err) {
      if (signal.aborted) throw timedOut(err);
      lastFailure = new SignedCallFailed(
        'unreachable',
        `${options.url}: ${describeConnectionError(err)}`,
        { attempts },
        { cause: err },
      );
      continue;
    }

    let text: string;
    try {
      text = await readLimited(response, MAX_ANSWER_BYTES);
    } catch (err) {
      if (signal.aborted) throw timedOut(err);
      if (err instanceof ResponseTooLarge) {
        throw new SignedCallFailed(
          'bad_answer',
          `${options.url}: answer larger than ${MAX_ANSWER_BYTES} bytes`,
          {
            attempts,
            httpStatus: response.status,
          },
        );
      }
      lastFailure = new SignedCallFailed(
        'unreachable',
        `${options.url}: connection lost while reading the answer`,
        { attempts, httpStatus: response.status },
        { cause: err },
      );
      continue;
    }

    if (response.status < 200 || response.status > 299) {
      const failure = new SignedCallFailed('http_status', `${options.url} answered HTTP ${response.status}`, {
        attempts,
        httpStatus: response.status,
        answerCode: answerCodeOf(text),
      });
      // A 4xx means this request is wrong (signature, app id, payload): sending it again will not help.
      if (response.status < 500) throw failure;
      lastFailure = failure;
      continue;
    }

    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new SignedCallFailed(
        'bad_answer',
        `${options.url}: answer is not JSON`,
        { attempts, httpStatus: response.status },
        { cause: err },
      );
    }
  }
  throw lastFailure ?? new SignedCallFailed('unreachable', `${options.url}: no attempt made`, { attempts });
}

/** The `code` of a JSON error answer such as `{"code":"BAD_SIGNATURE"}`, for the log line; short codes only. */
function answerCodeOf(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    const code = (parsed as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** undici reports `fetch failed` and hides the useful part (ECONNREFUSED …) in `cause`. */
function describeConnectionError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return `connection failed (${cause.code})`;
  if (typeof cause?.message === 'string') return `connection failed (${cause.message})`;
  return `connection failed (${err instanceof Error ? err.message : String(err)})`;
}
