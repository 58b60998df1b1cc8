import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_ORIGIN, type BuiltHelper, builtHelper } from '../support/helper-build.js';

const execFileAsync = promisify(execFile);
const APP = 'cn.gov.unified-id.helper';
const ROOT = `./opt/apps/${APP}/`;

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const dpkgDeb = async (...args: string[]) =>
  (await execFileAsync('dpkg-deb', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;

describe('the .deb in 统信UOS’s application layout', () => {
  let helper: BuiltHelper;
  let unpacked: string;
  beforeAll(async () => {
    helper = await builtHelper();
    unpacked = mkdtempSync(path.join(tmpdir(), 'uid-deb-'));
    await dpkgDeb('-x', helper.deb, unpacked);
  }, 600_000);
  afterAll(() => {
    if (unpacked) rmSync(unpacked, { recursive: true, force: true });
  });
  const installed = (file: string) => readFileSync(path.join(unpacked, 'opt/apps', APP, file), 'utf8');

  it('puts every file under /opt/apps/<appid>/, owned by root, the executable alone executable', async () => {
    const lines = (await dpkgDeb('-c', helper.deb)).trim().split('\n');
    const entries = lines.map((line) => {
      const [mode = '', owner = '', , , , ...rest] = line.split(/\s+/);
      return { mode, owner, name: rest.join(' ') };
    });
    for (const e of entries) {
      expect(e.owner, e.name).toBe('root/root');
      expect(['./', './opt/', './opt/apps/'].includes(e.name) || e.name.startsWith(ROOT), e.name).toBe(true);
    }
    const files = entries.filter((e) => !e.mode.startsWith('d'));
    expect(files.map((f) => f.name.slice(ROOT.length)).sort()).toEqual([
      `entries/applications/${APP}.desktop`,
      `entries/autostart/${APP}.desktop`,
      `entries/icons/hicolor/scalable/apps/${APP}.svg`,
      'files/bin/unified-id-helper',
      'files/bin/unified-id-helper.json',
      'files/doc/copyright',
      'info',
    ]);
    for (const f of files)
      expect(f.mode, f.name).toBe(f.name.endsWith('/bin/unified-id-helper') ? '-rwxr-xr-x' : '-rw-r--r--');
  });

  it('has a control file naming the appid, version and architecture, and no maintainer script', async () => {
    expect((await dpkgDeb('-f', helper.deb, 'Package')).trim()).toBe(APP);
    expect((await dpkgDeb('-f', helper.deb, 'Version')).trim()).toBe(helper.version);
    expect((await dpkgDeb('-f', helper.deb, 'Architecture')).trim()).toBe('amd64');
    expect((await dpkgDeb('-f', helper.deb, 'Depends')).trim()).toBe('');
    // Installing runs nothing: the control archive holds the control file and checksums only.
    const members = (await dpkgDeb('-I', helper.deb))
      .split('\n')
      .map((line) => /^\s+\d+ bytes,\s+\d+ lines\s+\*?\s*(\S+)/.exec(line)?.[1])
      .filter(Boolean);
    expect(members.sort()).toEqual(['control', 'md5sums']);
  });

  it('describes itself in info as UOS asks, and starts at log-in with the origins it was built for', () => {
    const info = JSON.parse(installed('info')) as Record<string, unknown>;
    expect(info).toMatchObject({ appid: APP, name: '证书助手', arch: ['amd64'] });
    expect(info['version']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(info['permissions']).toMatchObject({ autostart: true });
    const exec = `/opt/apps/${APP}/files/bin/unified-id-helper`;
    for (const entry of [`entries/applications/${APP}.desktop`, `entries/autostart/${APP}.desktop`]) {
      const desktop = installed(entry);
      expect(desktop, entry).toMatch(/^\[Desktop Entry\]\n/);
      expect(desktop, entry).toContain(`\nExec=${exec}\n`);
      expect(desktop, entry).toContain('\nType=Application\n');
    }
    expect(installed(`entries/autostart/${APP}.desktop`)).toContain('X-GNOME-Autostart-enabled=true');
    expect(JSON.parse(installed('files/bin/unified-id-helper.json'))).toEqual({ origins: [BUILT_ORIGIN] });
    // Compared by digest: a deep equality over 100 MB of bytes would take minutes.
    expect(sha256(path.join(unpacked, exec))).toBe(sha256(helper.executable));
  });
});
