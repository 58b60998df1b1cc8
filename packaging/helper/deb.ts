import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { APP_ID, CONFIG_FILE_NAME, EXECUTABLE_NAME, type HelperConfigFile } from './layout.js';

export interface DebInput {
  /** The single executable for this architecture. */
  executable: string;
  arch: 'amd64' | 'arm64';
  /** Debian version of the package (the project's version). */
  version: string;
  /** The provider origins the installed helper answers, written into its config file. */
  origins: string[];
  /** Where the .deb is written, and a scratch folder for its tree. */
  outFile: string;
  workDir: string;
}

/**
 * A .deb laid out as 统信UOS asks of applications: everything under /opt/apps/<appid>/ with
 * entries/ (desktop and autostart entries, icon), files/ (the executable and its config file) and
 * the info description, and no maintainer script: installing changes nothing outside that folder
 * (UOS's desktop picks entries/ up by itself; on other Debian systems IT links the autostart entry,
 * see docs/helper-it.md).
 */
export function buildDeb(input: DebInput): void {
  const root = path.join(input.workDir, `deb-${input.arch}`);
  rmSync(root, { recursive: true, force: true });
  const app = path.join(root, 'opt/apps', APP_ID);
  const bin = path.join(app, 'files/bin', EXECUTABLE_NAME);

  const put = (file: string, content: string | Buffer, mode = 0o644) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    chmodSync(file, mode);
  };
  mkdirSync(path.dirname(bin), { recursive: true });
  copyFileSync(input.executable, bin);
  chmodSync(bin, 0o755);
  const config: HelperConfigFile = { origins: input.origins };
  put(path.join(app, 'files/bin', CONFIG_FILE_NAME), `${JSON.stringify(config, null, 2)}\n`);
  put(path.join(app, 'files/doc/copyright'), COPYRIGHT);
  put(path.join(app, 'info'), `${JSON.stringify(uosInfo(input), null, 2)}\n`);
  put(path.join(app, `entries/applications/${APP_ID}.desktop`), desktopEntry(false));
  put(path.join(app, `entries/autostart/${APP_ID}.desktop`), desktopEntry(true));
  put(path.join(app, `entries/icons/hicolor/scalable/apps/${APP_ID}.svg`), ICON);

  const installedKb = Math.ceil(sumSizes(root) / 1024);
  put(path.join(root, 'DEBIAN/control'), control(input, installedKb));
  put(path.join(root, 'DEBIAN/md5sums'), md5sums(root));
  for (const dir of directories(root)) chmodSync(dir, 0o755);

  rmSync(input.outFile, { force: true });
  // gzip rather than dpkg-deb's default xz: a third larger, but built in seconds instead of
  // minutes for the 100 MB executable, and every dpkg reads it.
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', '-z6', root, input.outFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  rmSync(root, { recursive: true, force: true });
}

/** UOS's info file: a four-part numeric version, the architectures, and the permissions used. */
function uosInfo(input: DebInput) {
  const parts = input.version.split(/[.+~-]/).filter((p) => /^\d+$/.test(p));
  while (parts.length < 4) parts.push('0');
  return {
    appid: APP_ID,
    name: '证书助手',
    version: parts.slice(0, 4).join('.'),
    arch: [input.arch],
    permissions: {
      // It runs at log-in so that the sign-in page finds it without the clerk starting it.
      autostart: true,
      notification: false,
      trayicon: false,
      clipboard: false,
      account: false,
      bluetooth: false,
      camera: false,
      audio_record: false,
      installed_apps: false,
    },
  };
}

function desktopEntry(autostart: boolean): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Unified ID certificate helper',
    'Name[zh_CN]=证书助手',
    'Comment=Lets the Unified ID sign-in page use your USB key',
    'Comment[zh_CN]=让统一身份认证的登录页面使用您的 USB Key（数字证书）',
    `Exec=/opt/apps/${APP_ID}/files/bin/${EXECUTABLE_NAME}`,
    `Icon=${APP_ID}`,
    'Terminal=false',
    'Categories=Utility;Security;',
    ...(autostart ? ['X-GNOME-Autostart-enabled=true', 'NoDisplay=true'] : []),
    '',
  ].join('\n');
}

function control(input: DebInput, installedKb: number): string {
  return [
    `Package: ${APP_ID}`,
    `Version: ${input.version}`,
    `Architecture: ${input.arch}`,
    'Maintainer: Unified ID maintainers <unified-id@localhost>',
    `Installed-Size: ${installedKb}`,
    'Section: utils',
    'Priority: optional',
    'Description: 证书助手 (Unified ID certificate helper)',
    ' Lets the Unified ID sign-in pages list the certificates of a USB key and',
    ' sign a login challenge with it, through a local service on 127.0.0.1 that',
    ' answers only the configured provider origins.',
    '',
  ].join('\n');
}

function* walk(dir: string): Generator<{ file: string; isDir: boolean }> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    yield { file, isDir: entry.isDirectory() };
    if (entry.isDirectory()) yield* walk(file);
  }
}

function directories(root: string): string[] {
  return [root, ...[...walk(root)].filter((e) => e.isDir).map((e) => e.file)];
}

function sumSizes(root: string): number {
  return [...walk(root)].filter((e) => !e.isDir).reduce((n, e) => n + statSync(e.file).size, 0);
}

function md5sums(root: string): string {
  return [...walk(root)]
    .filter((e) => !e.isDir && !path.relative(root, e.file).startsWith('DEBIAN'))
    .map(
      (e) =>
        `${createHash('md5').update(readFileSync(e.file)).digest('hex')}  ${path.relative(root, e.file)}`,
    )
    .sort()
    .join('\n')
    .concat('\n');
}

const COPYRIGHT = `Unified ID certificate helper (证书助手)
It contains Node.js (MIT licence, https://nodejs.org/) and koffi (MIT licence, https://koffi.dev/).
`;

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect x="4" y="18" width="56" height="28" rx="6" fill="#1a5fb4"/><circle cx="20" cy="32" r="7" fill="#fff"/><rect x="32" y="29" width="20" height="6" rx="2" fill="#fff"/></svg>
`;
