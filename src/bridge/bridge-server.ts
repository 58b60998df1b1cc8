import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
  /** The provider's origin, e.g. https://id.example.gov.cn: the only page allowed to use the bridge. */
  origin: string;
  port?: number;
}

/** A challenge is about 150 bytes; 16 KiB leaves room for any data the page may sign, and no more. */
const MAX_BODY = 16 * 1024;
const HEX = /^(?:[0-9a-f]{2})+$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

/**
 * 证书助手: a local HTTP service on 127.0.0.1 only, answering only the provider's origin, that
 * lists the token's certificates and signs with one after the PIN. Nothing else on the machine
 * or the web can ask it to sign. The PIN is passed to C_Login and dropped: never logged or kept.
 */
export async function startBridge(options: BridgeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const allowed = new URL(options.origin).origin;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'bridge_error' });
      else res.destroy();
    });
  });
  // One user, one page: a handful of connections, short timeouts, so a stuck client can not pin it.
  server.maxConnections = 16;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  function send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': allowed,
      vary: 'Origin',
    });
    res.end(JSON.stringify(body));
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
    // Browsers always send Origin on cross-origin fetches (and a DNS-rebound page's same-origin GET
    // sends none), so anything but the provider's exact origin is refused before any work is done.
    if (req.headers.origin !== allowed) {
      res
        .writeHead(403, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ error: 'origin_not_allowed' }));
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method === 'OPTIONS') {
      const headers: Record<string, string> = {
        'access-control-allow-origin': allowed,
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
      return send(res, 200, { ok: true, ...options.token.info() });
    if (req.method === 'GET' && path === '/v1/certificates')
      return send(res, 200, options.token.listCertificates());
    if (req.method === 'POST' && path === '/v1/sign') return sign(req, res);
    return send(res, 404, { error: 'not_found' });
  }

  async function sign(req: IncomingMessage, res: ServerResponse) {
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(res, 413, { error: 'request_too_large' });
      return send(res, 400, { error: 'invalid_request' });
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
      return send(res, 400, { error: 'invalid_request' });
    }
    try {
      const signature = options.token.sign(id, pin, Buffer.from(data, 'base64'), algorithm);
      return send(res, 200, { signature: signature.toString('base64') });
    } catch (err) {
      if (err instanceof PinIncorrect) return send(res, 401, { error: 'pin_incorrect' });
      if (err instanceof PinLocked) return send(res, 423, { error: 'pin_locked' });
      if (err instanceof UnsupportedAlgorithm) return send(res, 400, { error: 'algorithm_unsupported' });
      if (err instanceof AlgorithmKeyMismatch) return send(res, 400, { error: 'algorithm_key_mismatch' });
      if (err instanceof KeyNotFound) return send(res, 404, { error: 'key_not_found' });
      return send(res, 500, { error: 'sign_failed' });
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
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
