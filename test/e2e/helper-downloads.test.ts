import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/** The installers a build writes, with made-up content: the page's digests must be of these bytes. */
const INSTALLERS = {
  'unified-id-helper-linux-x64': randomBytes(300_000),
  'unified-id-helper_0.1.0_amd64.deb': randomBytes(120_000),
  'unified-id-helper-win-x64.exe': randomBytes(2_000),
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('/helper/: the 证书助手 installers with their SHA-256', () => {
  let dir: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'uid-helper-dir-'));
    for (const [name, bytes] of Object.entries(INSTALLERS)) writeFileSync(path.join(dir, name), bytes);
    // What else may sit in the folder is never offered: a build's leftovers, other files, links.
    writeFileSync(path.join(dir, 'unified-id-helper-linux-arm64.partial'), 'half written');
    writeFileSync(path.join(dir, 'notes.txt'), 'private');
    mkdirSync(path.join(dir, '.work'));
    writeFileSync(path.join(dir, '.work', 'helper.cjs'), 'bundle');
    symlinkSync('/etc/passwd', path.join(dir, 'unified-id-helper-linux-arm64'));
    server = await startTestServer({ env: { HELPER_DIR: dir } });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists each installer with its size and SHA-256, and nothing else in the folder', async () => {
    const res = await fetch(`${server.url}/helper/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const [name, bytes] of Object.entries(INSTALLERS)) {
      const row = html.slice(html.indexOf(`>${name}</a>`)).split('</tr>')[0] ?? '';
      expect(row, name).toContain(sha256(bytes));
      expect(row, name).toContain(`${bytes.length} 字节`);
    }
    for (const other of ['.partial', 'notes.txt', 'helper.cjs', 'unified-id-helper-linux-arm64'])
      expect(html).not.toContain(other);
    expect((await fetch(`${server.url}/helper`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/helper/',
    );
  });

  it('sends each listed file as a download whose bytes have the listed digest', async () => {
    for (const [name, bytes] of Object.entries(INSTALLERS)) {
      const res = await fetch(`${server.url}/helper/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain('attachment');
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      const body = Buffer.from(await res.arrayBuffer());
      expect(sha256(body)).toBe(sha256(bytes));
      expect(res.headers.get('repr-digest')).toBe(
        `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`,
      );
    }
  });

  it('serves nothing outside the list: other files, leftovers, links, paths out of the folder', async () => {
    for (const probe of [
      'notes.txt',
      'unified-id-helper-linux-arm64.partial',
      'unified-id-helper-linux-arm64',
      '.work/helper.cjs',
      '..%2Fpackage.json',
      '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      'unified-id-helper-linux-x64%2F..%2F..%2Fpackage.json',
    ]) {
      const res = await fetch(`${server.url}/helper/${probe}`);
      expect(res.status, probe).toBe(404);
      expect(await res.text(), probe).not.toMatch(/root:|private|"name": "unified-id"/);
    }
  });
});

describe('/helper/ with no installers built', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { HELPER_DIR: path.join(tmpdir(), `uid-no-helper-${Date.now()}`) },
    });
  });
  afterAll(() => server?.close());

  it('says none are offered yet instead of failing', async () => {
    const res = await fetch(`${server.url}/helper/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('暂未提供证书助手安装包');
  });
});
