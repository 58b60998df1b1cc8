import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readChallenge } from '../pki/challenge.js';
import { PinTries } from './pin-tries.js';
import {
  AlgorithmKeyMismatch,
  type BridgeToken,
  KeyNotFound,
  PinIncorrect,
  PinLocked,
  UnsupportedAlgorithm,
} from './token.js';

export interface BridgeOptions {
  token: BridgeToken;
  /**
   * The providers whose pages may use the helper, e.g. https://id.example.gov.cn (a path is
   * dropped): only these origins are answered, and each signs only its own provider's challenges.
   */
  origins: readonly string[];
  port?: number;
  /** The clock the wrong-PIN pause is measured by (tests move it). */
  now?: () => number;
}

/** A challenge is about 150 bytes; 16 KiB is plenty for it and its PIN, and no more. */
const MAX_BODY = 16 * 1024;
const HEX = /^(?:[0-9a-f]{2})+$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

/**
 * 证书助手: a local HTTP service on 127.0.0.1 only, answering only the providers' origins, that
 * lists the token's certificates and signs a provider's login challenge with one after the PIN.
 * Nothing else on the machine or the web can ask it to sign, and it signs nothing but a
 * challenge naming the provider of the page that asks. The PIN is passed to the token and
 * dropped: never logged or kept.
 */
export async function startBridge(options: BridgeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const allowed = new Set(options.origins.map((o) => new URL(o).origin));
  if (allowed.size === 0) throw new RangeError('the helper needs at least one provider origin');
  const pinTries = new PinTries(options.now);
  /** `127.0.0.1:<port>`, known once listening: any other Host is a DNS-rebound name or a proxy. */
  let ownHost = '';
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"bridge_error"}');
      else res.destroy();
    });
  });
  // One user, one page: a handful of connections, short timeouts, so a stuck client can not pin it.
  server.maxConnections = 16;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  /** Answers the allowed origin `origin` (never `*`: CORS names the one page it answers). */
  function send(res: ServerResponse, origin: string, status: number, body: unknown, extra = {}) {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': origin,
      vary: 'Origin',
      ...extra,
    });
    res.end(JSON.stringify(body));
  }

  function refuse(res: ServerResponse, error: string) {
    res
      .writeHead(403, { 'content-type': 'application/json', connection: 'close' })
      .end(JSON.stringify({ error }));
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) throw new BodyTooLarge();
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new BodyTooLarge();
      chunks.push(chunk as Buffer);
    }
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new SyntaxError('not an object');
    return value as Record<string, unknown>;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // A page on a name that resolves to 127.0.0.1 (DNS rebinding) is same-origin with itself, not
    // with us: its Host names it, so only the literal address this helper listens on is answered.
    if (req.headers.host !== ownHost) return refuse(res, 'host_not_allowed');
    // Browsers always send Origin on cross-origin fetches, so anything but a provider's exact
    // origin is refused before any work is done.
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return refuse(res, 'origin_not_allowed');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method === 'OPTIONS') {
      const headers: Record<string, string> = {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
        vary: 'Origin',
      };
      // Chrome's Private Network Access: a public https page reaching 127.0.0.1 asks for this opt-in.
      if (req.headers['access-control-request-private-network'] === 'true')
        headers['access-control-allow-private-network'] = 'true';
      res.writeHead(204, headers).end();
      return;
    }
    if (req.method === 'GET' && path === '/v1/status')
      return send(res, origin, 200, { ok: true, ...options.token.info() });
    if (req.method === 'GET' && path === '/v1/certificates')
      return send(res, origin, 200, options.token.listCertificates());
    if (req.method === 'POST' && path === '/v1/sign') return sign(req, res, origin);
    return send(res, origin, 404, { error: 'not_found' });
  }

  async function sign(req: IncomingMessage, res: ServerResponse, origin: string) {
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(res, origin, 413, { error: 'request_too_large' });
      return send(res, origin, 400, { error: 'invalid_request' });
    }
    const { id, pin, data, algorithm } = body;
    if (
      typeof id !== 'string' ||
      !HEX.test(id) ||
      typeof pin !== 'string' ||
      pin.length === 0 ||
      pin.length > 64 ||
      typeof data !== 'string' ||
      !BASE64.test(data) ||
      typeof algorithm !== 'string'
    ) {
      return send(res, origin, 400, { error: 'invalid_request' });
    }
    const bytes = Buffer.from(data, 'base64');
    // Only the provider's login challenge, and only the one naming the provider of the asking
    // page: a signature made here is then useless on any other site (as Web eID binds the origin).
    const challenge = readChallenge(bytes);
    if (!challenge) return send(res, origin, 400, { error: 'not_a_login_challenge' });
    if (new URL(challenge.issuer).origin !== origin)
      return send(res, origin, 403, { error: 'challenge_of_another_provider' });
    const wait = pinTries.waitMs();
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      return send(
        res,
        origin,
        429,
        { error: 'pin_tries_paused', retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    try {
      const signature = options.token.sign(id, pin, bytes, algorithm);
      pinTries.right();
      return send(res, origin, 200, { signature: signature.toString('base64') });
    } catch (err) {
      if (err instanceof PinIncorrect) {
        pinTries.wrong();
        // An SKF key says how many tries remain before it locks; the page tells the clerk.
        const triesLeft = err.triesLeft === undefined ? {} : { triesLeft: err.triesLeft };
        return send(res, origin, 401, { error: 'pin_incorrect', ...triesLeft });
      }
      if (err instanceof PinLocked) return send(res, origin, 423, { error: 'pin_locked' });
      if (err instanceof UnsupportedAlgorithm)
        return send(res, origin, 400, { error: 'algorithm_unsupported' });
      if (err instanceof AlgorithmKeyMismatch)
        return send(res, origin, 400, { error: 'algorithm_key_mismatch' });
      if (err instanceof KeyNotFound) return send(res, origin, 404, { error: 'key_not_found' });
      return send(res, origin, 500, { error: 'sign_failed' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 41443, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  ownHost = `127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
