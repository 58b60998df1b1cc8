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
 * RSA keys no two of which are the same: the pool from a random place in it, then new keys once
 * it is used up (only new ones outside vitest, as in a deployment).
 */
function rsaWalk(): () => KeyObject {
  if (!hasEmbeddedTemplate()) return () => newKey('RS256');
  const keys = rsaPool();
  const start = Math.floor(Math.random() * keys.length);
  let used = 0;
  return () => (used < keys.length ? keys[(start + used++) % keys.length]! : newKey('RS256'));
}

/** `count` different RSA private keys: for the fakes of outside services, whose keys only need to differ. */
export function rsaKeys(count: number): KeyObject[] {
  return Array.from({ length: count }, rsaWalk());
}

/** One maker per database: the servers of one deployment share it (and its keys). */
const makers = new Map<string, KeyMaker>();

/**
 * How the test servers of one database make keys. Servers of different databases may share an
 * RSA key, but one database never gets the same key twice (its `kid` is the key's thumbprint):
 * each database walks the pool on its own. ES256 keys, a fraction of a millisecond, are made new.
 */
export function keyMakerFor(database: string): KeyMaker {
  let maker = makers.get(database);
  if (!maker) {
    const nextRsa = rsaWalk();
    maker = (alg) => (alg === 'RS256' ? nextRsa() : newKey(alg));
    makers.set(database, maker);
  }
  return maker;
}
