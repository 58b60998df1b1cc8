import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HttpAlipayClient } from '../../src/outside/alipay/client.js';
import { outputUntil, spawnCli, stop } from '../support/cli.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'uid-dev-alipay-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** `unified-id dev-alipay` on a free port, until it has printed its five settings. */
async function devAlipay(): Promise<{ child: ChildProcess; settings: Record<string, string> }> {
  const child = spawnCli(['dev-alipay', '--port', '0'], {
    ...process.env,
    DATA_DIR: dataDir,
    NODE_ENV: 'development',
  });
  const settingLines = (output: string) => output.split('\n').filter((l) => /^ALIPAY_[A-Z_]+=/.test(l));
  const output = await outputUntil(child, (out) => settingLines(out).length === 5);
  const settings = Object.fromEntries(
    settingLines(output).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { child, settings };
}

it('prints the ALIPAY_* settings that configure the provider, and keeps the keys across restarts', async () => {
  const first = await devAlipay();
  try {
    const config = loadConfig({ DATA_DIR: dataDir, ...first.settings });
    expect(config.alipay?.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/gateway\.do$/);
    expect(readFileSync(path.join(dataDir, 'dev-alipay.env'), 'utf8').trim().split('\n')).toHaveLength(5);

    // The fake answers the configured client, signed both ways: an unknown auth_code is refused.
    const client = new HttpAlipayClient(config.alipay!);
    await expect(client.exchangeCode('unknown')).rejects.toMatchObject({
      kind: 'gateway',
      subCode: 'isv.code-invalid',
    });
  } finally {
    await stop(first.child);
  }

  const second = await devAlipay();
  try {
    expect(second.settings['ALIPAY_PRIVATE_KEY']).toBe(first.settings['ALIPAY_PRIVATE_KEY']);
    expect(second.settings['ALIPAY_PUBLIC_KEY']).toBe(first.settings['ALIPAY_PUBLIC_KEY']);
  } finally {
    await stop(second.child);
  }
}, 150_000);
