import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { outputUntil, spawnCli, stop } from '../support/cli.js';
import { basicAuth } from '../support/relying-party.js';
import { freePort } from '../support/server.js';

it('on SIGTERM finishes every request in flight, then exits cleanly', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uid-stop-'));
  const port = await freePort();
  const server = spawnCli(['serve'], {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  try {
    const banner = await outputUntil(server, (output) => output.includes('demo client_secret'));
    const clientId = /demo client_id:\s+(\S+)/.exec(banner)![1]!;
    const secret = /demo client_secret:\s+(\S+)/.exec(banner)![1]!;
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
    const exited = stop(server);
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
