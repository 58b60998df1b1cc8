import { createServer, type Server } from 'node:http';

/** One request a back-channel logout endpoint received, as it arrived. */
export interface ReceivedLogout {
  method: string;
  contentType: string | undefined;
  cookie: string | undefined;
  body: string;
}

/** A site's back-channel logout endpoint: a real HTTP server that records the logout tokens it is sent. */
export interface BackchannelReceiver {
  url: string;
  tokens: string[];
  requests: ReceivedLogout[];
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** `status`: what the endpoint answers (a site whose endpoint fails answers 500, say). */
export async function startBackchannelReceiver(
  options: { status?: number } = {},
): Promise<BackchannelReceiver> {
  const tokens: string[] = [];
  const requests: ReceivedLogout[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        contentType: req.headers['content-type'],
        cookie: req.headers.cookie,
        body,
      });
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && token) tokens.push(token);
      res.writeHead(options.status ?? 200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    tokens,
    requests,
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (tokens.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      return tokens;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
