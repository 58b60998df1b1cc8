import { createServer } from 'node:http';

export interface CannedAnswer {
  /** 200 unless told. */
  status?: number;
  /** The content-type; `application/json` unless told. */
  type?: string;
  body: string;
}

export interface CannedServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** Every HTTP request that arrived. */
  readonly hits: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server on a free loopback port that reads each request to its end and answers
 * whatever `answer()` returns at that moment, without looking at what it received: an outside
 * service answering nonsense.
 */
export async function startCannedServer(answer: () => CannedAnswer): Promise<CannedServer> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      const { status = 200, type = 'application/json', body } = answer();
      res.writeHead(status, { 'content-type': type }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`,
    get hits() {
      return hits;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
