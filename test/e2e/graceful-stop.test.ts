import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { expect, it } from 'vitest';
import { outputUntil, spawnCli, stop } from '../support/cli.js';
import { copyEmbeddedTemplate } from '../support/embedded-template.js';
import { basicAuth } from '../support/relying-party.js';
import { freePort } from '../support/server.js';

it('on SIGTERM finishes every request in flight, then exits cleanly', async () => {
  const dataDir = copyEmbeddedTemplate();
  const port = await freePort();
  // Started as README's `npm start` starts it: the one `serve` of the suite through the bin
  // script and tsx (the others run the compiled sources).
  const server = spawnCli(
    ['serve'],
    { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    { asNpmStart: true },
  );
  try {
    // A process of its own, loading every module: slow on a busy machine.
    const banner = await outputUntil(server, (output) => output.includes('demo client_secret'), 240_000);
    const clientId = /demo client_id:\s+(\S+)/.exec(banner)![1]!;
    const secret = /demo client_secret:\s+(\S+)/.exec(banner)![1]!;
    const body = `grant_type=authorization_code&code=unknown&redirect_uri=http://x&code_verifier=${'a'.repeat(43)}`;
    // Each request connected and half sent when SIGTERM arrives: the rest of its body follows.
    const requests = Array.from({ length: 40 }, () =>
      request(`http://127.0.0.1:${port}/token`, {
        method: 'POST',
        agent: false,
        headers: {
          authorization: basicAuth({ clientId, clientSecret: secret }),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          connection: 'close',
        },
      }),
    );
    const inFlight = requests.map(
      (req) =>
        new Promise<number>((resolve, reject) => {
          req.once('response', (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.once('error', reject);
        }),
    );
    await Promise.all(
      requests.map(
        (req) =>
          new Promise<void>((resolve) => {
            req.write(body.slice(0, 20));
            req.once('socket', (socket) => {
              if (socket.connecting) socket.once('connect', () => resolve());
              else resolve();
            });
          }),
      ),
    );
    // A request made after them is answered: the server has taken the forty in.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const exited = stop(server);
    // Once the server says it is stopping (or has stopped listening), the bodies are finished.
    const ready = () =>
      fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    while (await ready());
    for (const req of requests) req.end(body.slice(20));
    const statuses = await Promise.all(inFlight);
    // Every request got an answer (an OAuth error for the made-up code), none was cut off.
    expect(statuses.every((s) => s === 400 || s === 429)).toBe(true);
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  } finally {
    server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);
