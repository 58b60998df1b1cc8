import { execFile, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSoftHsm, SOFTHSM_MODULE, softHsmAvailable } from '../../src/bridge/softhsm.js';
import { type BuiltHelper, builtHelper } from '../support/helper-build.js';

const execFileAsync = promisify(execFile);

describe.skipIf(!softHsmAvailable())('the packaged 证书助手 runs where there is no Node.js', () => {
  let helper: BuiltHelper;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const label = `pkg-${process.pid}`;

  beforeAll(async () => {
    helper = await builtHelper();
    dir = mkdtempSync(path.join(tmpdir(), 'uid-sea-'));
    const conf = prepareSoftHsm(path.join(dir, 'softhsm'), { label, pin: '123456', soPin: '87654321' });
    const emptyBin = mkdtempSync(path.join(tmpdir(), 'uid-no-node-'));
    // Only what the helper itself needs: no PATH entry holds node, HOME is a fresh folder.
    env = { PATH: emptyBin, HOME: dir, SOFTHSM2_CONF: conf };
  }, 600_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is a native executable, and node is not on the PATH it runs with', () => {
    const head = Buffer.alloc(4);
    const fd = openSync(helper.executable, 'r');
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    expect(head.toString('latin1')).toBe('\x7fELF');
    const probe = spawnSync('node', ['--version'], { env });
    expect((probe.error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
  });

  it('lists the SoftHSM2 token without being told where its module is', async () => {
    const { stdout } = await execFileAsync(helper.executable, ['--list'], { env, timeout: 60_000 });
    expect(stdout).toContain(SOFTHSM_MODULE);
    expect(stdout).toContain(label);
  });

  it('lists it through the module IT names with --module', async () => {
    const { stdout } = await execFileAsync(helper.executable, ['--list', '--module', SOFTHSM_MODULE], {
      env,
      timeout: 60_000,
    });
    expect(stdout).toContain(label);
  });
});
