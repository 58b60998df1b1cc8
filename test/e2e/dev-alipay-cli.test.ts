import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HttpAlipayClient } from '../../src/outside/alipay/client.js';
import { outputUntil, spawnCli, stop } from '../support/cli.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'uid-dev-alipay-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * `unified-id dev-alipay` on a free port, until it has printed its settings: five in public-key
 * mode, seven with --certificate. Values are read as a shell would read the single-quoted ones.
 */
async function devAlipay(
  dir: string,
  ...args: string[]
): Promise<{ child: ChildProcess; settings: Record<string, string> }> {
  const child = spawnCli(['dev-alipay', '--port', '0', ...args], {
    ...process.env,
    DATA_DIR: dir,
    NODE_ENV: 'development',
  });
  const count = args.includes('--certificate') ? 7 : 5;
  const settingLines = (output: string) => output.split('\n').filter((l) => /^ALIPAY_[A-Z_]+=/.test(l));
  const output = await outputUntil(child, (out) => settingLines(out).length === count);
  const settings = Object.fromEntries(
    settingLines(output).map((l) => [
      l.slice(0, l.indexOf('=')),
      l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1'),
    ]),
  );
  return { child, settings };
}

it('prints the ALIPAY_* settings that configure the provider, and keeps the keys across restarts', async () => {
  const first = await devAlipay(dataDir);
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

  const second = await devAlipay(dataDir);
  try {
    expect(second.settings['ALIPAY_PRIVATE_KEY']).toBe(first.settings['ALIPAY_PRIVATE_KEY']);
    expect(second.settings['ALIPAY_PUBLIC_KEY']).toBe(first.settings['ALIPAY_PUBLIC_KEY']);
  } finally {
    await stop(second.child);
  }
}, 150_000);

it('in certificate mode prints the three certificates instead of Alipay’s public key, and keeps them', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'uid-dev-alipay-cert-'));
  try {
    const first = await devAlipay(dir, '--certificate');
    try {
      expect(first.settings).not.toHaveProperty('ALIPAY_PUBLIC_KEY');
      const config = loadConfig({ DATA_DIR: dir, ...first.settings });
      expect(config.alipay?.certificates?.alipayRootCert).toContain('-----BEGIN CERTIFICATE-----\n');
      // The client sends the serial numbers the fake checks, and verifies its certificate's signature.
      await expect(new HttpAlipayClient(config.alipay!).exchangeCode('unknown')).rejects.toMatchObject({
        kind: 'gateway',
        subCode: 'isv.code-invalid',
      });
      // What a shell makes of the env file is what the provider accepts.
      const envFile = path.join(dir, 'dev-alipay.env');
      const sourced = execFileSync('sh', ['-c', `. "${envFile}"; printf %s "$ALIPAY_APP_CERT"`], {
        encoding: 'utf8',
      });
      expect(sourced).toBe(first.settings['ALIPAY_APP_CERT']);
    } finally {
      await stop(first.child);
    }
    const second = await devAlipay(dir, '--certificate');
    try {
      for (const name of ['ALIPAY_APP_CERT', 'ALIPAY_PUBLIC_CERT', 'ALIPAY_ROOT_CERT']) {
        expect(second.settings[name]).toBe(first.settings[name]);
      }
    } finally {
      await stop(second.child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 150_000);
