import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KeyNotFound, PinIncorrect, PinLocked, type Pkcs11Token, UnsupportedAlgorithm } from './token.js';

export interface BridgeOptions {
  token: Pkcs11Token;
  /** The provider's origin, e.g. https://id.example.gov.cn: the only page allowed to use the bridge. */
  origin: string;
  port?: number;
}

const MAX_BODY = 16 * 1024;

/**
 * 证书助手: a local HTTP service on 127.0.0.1 only, answering only the provider's origin, that
 * lists the token's certificates and signs with one after the PIN. Nothing else on the machine
 * or the web can ask it to sign.
 */
export async function startBridge(options: BridgeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const allowed = new URL(options.origin).origin;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'bridge_error' }));
  });
  server.requestTimeout = 30_000;

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
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new Error('too large');
      chunks.push(chunk as Buffer);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // Browsers always send Origin on cross-origin fetches; anything else is not the provider's page.
    if (req.headers.origin !== allowed) {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'origin_not_allowed' }));
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': allowed,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      res.end();
      return;
    }
    if (req.method === 'GET' && path === '/v1/status')
      return send(res, 200, { ok: true, ...options.token.info() });
    if (req.method === 'GET' && path === '/v1/certificates')
      return send(res, 200, options.token.listCertificates());
    if (req.method === 'POST' && path === '/v1/sign') {
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch {
        return send(res, 400, { error: 'invalid_request' });
      }
      const { id, pin, data, algorithm } = body;
      if (
        typeof id !== 'string' ||
        typeof pin !== 'string' ||
        typeof data !== 'string' ||
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
        if (err instanceof KeyNotFound) return send(res, 404, { error: 'key_not_found' });
        return send(res, 500, { error: 'sign_failed' });
      }
    }
    return send(res, 404, { error: 'not_found' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 41443, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
