import { createServer, type Server } from 'node:http';

/** A site's back-channel logout endpoint: a real HTTP server that records the logout tokens it is sent. */
export interface BackchannelReceiver {
  url: string;
  tokens: string[];
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startBackchannelReceiver(): Promise<BackchannelReceiver> {
  const tokens: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && token) tokens.push(token);
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    tokens,
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (tokens.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      return tokens;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
