import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The request signature shared by our SMS gateway and identity-verification clients:
 * base64 HMAC-SHA256(secret, `${timestamp}\n${nonce}\n${rawBody}`) in X-Unified-Id-Signature.
 */
export const SIGNATURE_HEADERS = {
  appId: 'x-unified-id-app-id',
  timestamp: 'x-unified-id-timestamp',
  nonce: 'x-unified-id-nonce',
  signature: 'x-unified-id-signature',
} as const;

const WINDOW_SECONDS = 5 * 60;

export function signBody(secret: string, body: string, now = Date.now()) {
  const timestamp = String(Math.floor(now / 1000));
  const nonce = randomBytes(12).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${timestamp}\n${nonce}\n${body}`).digest('base64');
  return { timestamp, nonce, signature };
}

export function verifyBody(
  secret: string,
  body: string,
  headers: { timestamp?: string; nonce?: string; signature?: string },
  now = Date.now(),
): boolean {
  const { timestamp, nonce, signature } = headers;
  if (!timestamp || !nonce || !signature) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > WINDOW_SECONDS) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}\n${nonce}\n${body}`).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface SignedPostOptions {
  url: string;
  appId: string;
  secret: string;
  timeoutMs: number;
  retries: number;
}

export class SignedPostFailed extends Error {
  override name = 'SignedPostFailed';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * POSTs JSON signed as above; retries connection errors and 5xx answers (never a 4xx) with a
 * short backoff, and gives up after `retries`.
 */
export async function signedPost(options: SignedPostOptions, payload: unknown): Promise<unknown> {
  const body = JSON.stringify(payload);
  let last: SignedPostFailed | undefined;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
    const { timestamp, nonce, signature } = signBody(options.secret, body);
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          [SIGNATURE_HEADERS.appId]: options.appId,
          [SIGNATURE_HEADERS.timestamp]: timestamp,
          [SIGNATURE_HEADERS.nonce]: nonce,
          [SIGNATURE_HEADERS.signature]: signature,
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (res.status >= 500) {
        last = new SignedPostFailed(`${options.url} answered ${res.status}`, true);
        continue;
      }
      if (!res.ok) throw new SignedPostFailed(`${options.url} answered ${res.status}`, false);
      return await res.json();
    } catch (err) {
      if (err instanceof SignedPostFailed) throw err;
      const timedOut = (err as Error).name === 'TimeoutError';
      last = new SignedPostFailed(
        `${options.url}: ${timedOut ? 'timeout' : (err as Error).message}`,
        !timedOut,
      );
      if (timedOut) break; // a slow service is not hammered again while a person waits
    }
  }
  throw last ?? new SignedPostFailed('no attempt made', false);
}
