import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isSea } from 'node:sea';
import { z } from 'zod';

/** The port the provider's pages call when nothing else is configured (README, "证书助手"). */
export const DEFAULT_PORT = 41443;
export const CONFIG_NAME = 'unified-id-helper.json';

/** An http(s) origin; a path or query in the file is an installer's mistake, not something to guess around. */
const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}, 'an origin such as https://id.example.gov.cn (scheme, host and port only)');

/**
 * What an installer writes: the providers whose pages may use the helper, and its port.
 * Unknown keys are refused so that a misspelt "origin" is reported, not silently ignored.
 */
export const helperFileSchema = z
  .object({
    origins: z.array(origin).min(1),
    port: z.number().int().min(1).max(65535).optional(),
    /** Library paths IT pins, used instead of looking for them. */
    modules: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type HelperFile = z.infer<typeof helperFileSchema>;

export class HelperConfigError extends Error {
  override name = 'HelperConfigError';
}

/**
 * Where the configuration file is looked for, first found wins: next to the executable (the
 * Windows installer and the .deb put it there), then the machine-wide place IT may manage.
 */
export function configPlaces(
  execPath: string | undefined = isSea() ? process.execPath : undefined,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const pathOf = platform === 'win32' ? path.win32 : path.posix;
  // Run by node rather than as the single executable, "next to the executable" would be node's folder.
  const places = execPath ? [pathOf.join(pathOf.dirname(execPath), CONFIG_NAME)] : [];
  if (platform === 'win32')
    places.push(pathOf.join(env['ProgramData'] ?? 'C:\\ProgramData', 'UnifiedID', CONFIG_NAME));
  else places.push(`/etc/${CONFIG_NAME}`);
  return places;
}

/** The first configuration file present among `places`, validated; undefined when there is none. */
export function readHelperFile(places: readonly string[]): { file: string; config: HelperFile } | undefined {
  for (const file of places) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new HelperConfigError(`${file}: can not be read (${(err as Error).message})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new HelperConfigError(`${file}: not JSON (${(err as Error).message})`);
    }
    const parsed = helperFileSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
      throw new HelperConfigError(`${file}: ${issues.join('; ')}`);
    }
    return {
      file,
      config: { ...parsed.data, origins: parsed.data.origins.map((o) => new URL(o).origin) },
    };
  }
  return undefined;
}
