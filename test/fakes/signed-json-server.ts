import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SIGNATURE_HEADERS, SIGNATURE_WINDOW_SECONDS, verifyRequest } from '../../src/outside/sms/hmac.js';

export interface Faults {
  /** Answer every request 503. */
  down: boolean;
  /** Never answer (the client's timeout must fire). */
  hang: boolean;
  /** Answer the next this many requests 503, then recover (for retries). */
  failNext: number;
}

export interface Answer {
  status?: number;
  json: unknown;
}

export interface SignedJsonServer {
  url: string;
  faults: Faults;
  /** The bodies of the requests that passed the signature check, in order. */
  received: Record<string, unknown>[];
  /** Every HTTP request that arrived, refused and faulted ones included. */
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * A fake outside service speaking our signed JSON format over real HTTP on loopback. It checks the
 * HMAC signature, the ±5-minute timestamp window and nonce reuse as a real service would, and
 * refuses a bad request with 401 `{"code": "BAD_SIGNATURE"}`. It never logs what it receives:
 * the identity fake receives names and ID numbers.
 */
export async function startSignedJsonServer(
  secret: string,
  handle: (body: Record<string, unknown>, request: { appId: string | undefined }) => Answer,
  options: { faults?: Faults; now?: () => number } = {},
): Promise<SignedJsonServer> {
  const faults: Faults = options.faults ?? { down: false, hang: false, failNext: 0 };
  const now = options.now ?? Date.now;
  const received: Record<string, unknown>[] = [];
  // Nonces seen within the window: a replayed request is refused like a forged one.
  const seenNonces = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  let requests = 0;

  const reply = (res: ServerResponse, status: number, json: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(json));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (faults.hang) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (faults.down) return reply(res, 503, { code: 'UNAVAILABLE' });
      if (faults.failNext > 0) {
        faults.failNext--;
        return reply(res, 503, { code: 'UNAVAILABLE' });
      }
      if (req.method !== 'POST') return reply(res, 405, { code: 'METHOD_NOT_ALLOWED' });
      const raw = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => {
        const value = req.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const nonce = header(SIGNATURE_HEADERS.nonce);
      const verdict = verifyRequest(
        secret,
        raw,
        {
          timestamp: header(SIGNATURE_HEADERS.timestamp),
          nonce,
          signature: header(SIGNATURE_HEADERS.signature),
        },
        now(),
      );
      if (!verdict.ok || nonce === undefined) return reply(res, 401, { code: 'BAD_SIGNATURE' });
      forgetOldNonces(seenNonces, now());
      if (seenNonces.has(nonce)) return reply(res, 401, { code: 'BAD_SIGNATURE' });
      seenNonces.set(nonce, now());

      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return reply(res, 400, { code: 'BAD_REQUEST' });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return reply(res, 400, { code: 'BAD_REQUEST' });
      }
      const record = body as Record<string, unknown>;
      received.push(record);
      const answer = handle(record, { appId: header(SIGNATURE_HEADERS.appId) });
      reply(res, answer.status ?? 200, answer.json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    faults,
    received,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forgetOldNonces(seen: Map<string, number>, now: number): void {
  const horizon = now - 2 * SIGNATURE_WINDOW_SECONDS * 1000;
  for (const [nonce, at] of seen) {
    if (at < horizon) seen.delete(nonce);
  }
}
