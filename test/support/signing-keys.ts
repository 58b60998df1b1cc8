import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type KeyMaker, newKey } from '../../src/oidc/keys/key-service.js';
import { CACHE_DIR, hasEmbeddedTemplate } from './embedded-template.js';

/**
 * RSA keys for the test servers' signing keys, made once and kept between runs beside the migrated
 * template. A 2048-bit RSA key costs 0.1–0.3 s of CPU and every test server's first start makes
 * two (the signing key and the staged one): over the suite's few hundred servers, about a minute.
 * ES256 keys cost a fraction of a millisecond and are still made new for each.
 */
// A database takes two, and one more at each rotation; past the pool, keys are made new.
const POOL_SIZE = 8;
const POOL_FILE = path.join(CACHE_DIR, `rsa-2048-keys-${POOL_SIZE}.json`);

/**
 * Makes the pool when the cache has none: the run's global setup calls it, before any worker. The
 * keys are made at once on libuv's threads: a fresh checkout's first run waits for the slowest.
 */
export async function makeSigningKeyPool(): Promise<void> {
  if (existsSync(POOL_FILE)) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  const made = await Promise.all(
    Array.from({ length: POOL_SIZE }, () => promisify(generateKeyPair)('rsa', { modulusLength: 2048 })),
  );
  const pems = made.map(({ privateKey }) => privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const making = `${POOL_FILE}.${process.pid}`;
  writeFileSync(making, JSON.stringify(pems));
  renameSync(making, POOL_FILE);
}

let pool: KeyObject[] | undefined;

function rsaPool(): KeyObject[] {
  pool ??= (JSON.parse(readFileSync(POOL_FILE, 'utf8')) as string[]).map((pem) => createPrivateKey(pem));
  return pool;
}

/**
 * `count` different RSA private keys from the pool, from a random place in it (new ones outside
 * vitest): for the fakes of outside services, whose keys only need to differ from each other.
 */
export function rsaKeys(count: number): KeyObject[] {
  if (!hasEmbeddedTemplate() || count > POOL_SIZE)
    return Array.from({ length: count }, () => newKey('RS256'));
  const keys = rsaPool();
  const start = Math.floor(Math.random() * keys.length);
  return Array.from({ length: count }, (_, i) => keys[(start + i) % keys.length]!);
}

/** One maker per database: the servers of one deployment share it (and its keys). */
const makers = new Map<string, KeyMaker>();

/**
 * How the test servers of one database make keys. Servers of different databases may share an
 * RSA key, but one database never gets the same key twice (its `kid` is the key's thumbprint):
 * each database walks the pool from its own random place, and makes new keys once it has used
 * all of them. Outside vitest (the benchmarks) every key is new, as in a deployment.
 */
export function keyMakerFor(database: string): KeyMaker {
  if (!hasEmbeddedTemplate()) return newKey;
  let maker = makers.get(database);
  if (!maker) {
    const keys = rsaPool();
    const start = Math.floor(Math.random() * keys.length);
    let used = 0;
    maker = (alg) => {
      if (alg !== 'RS256' || used >= keys.length) return newKey(alg);
      return keys[(start + used++) % keys.length]!;
    };
    makers.set(database, maker);
  }
  return maker;
}
