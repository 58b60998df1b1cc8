import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { basicAuth } from '../support/relying-party.js';
import { freePort } from '../support/server.js';

it('on SIGTERM finishes every request in flight, then exits cleanly', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uid-stop-'));
  const port = await freePort();
  const server = spawn(process.execPath, [path.resolve('bin/unified-id.js'), 'serve'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const banner = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('demo client_secret')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    const clientId = /demo client_id:\s+(\S+)/.exec(banner)![1]!;
    const secret = /demo client_secret:\s+(\S+)/.exec(banner)![1]!;
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));

    const inFlight = Array.from({ length: 40 }, () =>
      fetch(`http://127.0.0.1:${port}/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuth({ clientId, clientSecret: secret }),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `grant_type=authorization_code&code=unknown&redirect_uri=http://x&code_verifier=${'a'.repeat(43)}`,
      }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 5));
    server.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    // Every request got an answer (an OAuth error for the made-up code), none was cut off.
    expect(statuses.every((s) => s === 400 || s === 429)).toBe(true);
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  } finally {
    server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
