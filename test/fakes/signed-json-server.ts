import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SIGNATURE_HEADERS, verifyBody } from '../../src/outside/signed-request.js';

export interface Faults {
  /** Answer 503. */
  down: boolean;
  /** Never answer (the client's timeout must fire). */
  hang: boolean;
}

/**
 * A fake outside service that speaks our signed JSON format over real HTTP on loopback: it
 * checks the HMAC signature and the timestamp window exactly as the real service would.
 */
export async function startSignedJsonServer(
  secret: string,
  handle: (body: Record<string, unknown>) => { status?: number; json: unknown },
) {
  const faults: Faults = { down: false, hang: false };
  const received: Record<string, unknown>[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (faults.hang) {
        hanging.add(res);
        return;
      }
      if (faults.down) {
        res.writeHead(503).end();
        return;
      }
      const ok = verifyBody(secret, raw, {
        timestamp: req.headers[SIGNATURE_HEADERS.timestamp] as string,
        nonce: req.headers[SIGNATURE_HEADERS.nonce] as string,
        signature: req.headers[SIGNATURE_HEADERS.signature] as string,
      });
      if (!ok) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'BAD_SIGNATURE' }));
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      received.push(body);
      const answer = handle(body);
      res
        .writeHead(answer.status ?? 200, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    faults,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
