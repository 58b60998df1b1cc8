import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { Logger } from 'pino';

/** The `typ` of a checkpoint's JWS header, so that no token of the provider passes for one. */
export const CHECKPOINT_TYP = 'unified-id-audit-checkpoint+jwt';

/** What a checkpoint says: at `iat`, the chain's row number `seq` (row `id`) had hash `hash`. */
export interface Checkpoint {
  seq: number;
  id: number;
  hash: string;
  /** Seconds since the epoch, as in a JWT. */
  iat: number;
  iss: string;
}

/** The provider's keys, as the audit needs them (KeyService fits). */
export interface CheckpointKeys {
  /** The private keys oidc-provider signs with, signing keys first. */
  providerJwks(): Promise<{ keys: JWK[] }>;
  /** Public halves of every key ever made. */
  verificationKeys(): Promise<JWK[]>;
}

const SIGNING_ALG = 'ES256';

/** The provider's current ES256 signing key (private). */
export async function checkpointSigningKey(keys: CheckpointKeys): Promise<JWK> {
  const jwk = (await keys.providerJwks()).keys.find((k) => k.alg === SIGNING_ALG);
  if (!jwk?.kid) throw new Error('no ES256 signing key to sign the audit checkpoint with');
  return jwk;
}

/** Signs the chain's head with the provider's signing key: a compact JWS (a JWT). */
export async function signCheckpoint(
  jwk: JWK,
  issuer: string,
  head: { seq: number; id: number; hash: string },
  at: Date,
): Promise<string> {
  return new SignJWT({ seq: head.seq, id: head.id, hash: head.hash })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: jwk.kid!, typ: CHECKPOINT_TYP })
    .setIssuer(issuer)
    .setIssuedAt(Math.floor(at.getTime() / 1000))
    .sign(await importJWK(jwk, SIGNING_ALG));
}

/**
 * A checkpoint's claims once its signature checks out against one of `publicKeys` (the
 * provider's /jwks, or every key the deployment has made); rejects otherwise.
 */
export async function readCheckpoint(jws: string, publicKeys: JWK[], issuer: string): Promise<Checkpoint> {
  const { payload } = await jwtVerify(jws.trim(), createLocalJWKSet({ keys: publicKeys }), {
    issuer,
    typ: CHECKPOINT_TYP,
    algorithms: [SIGNING_ALG],
  });
  const { seq, id, hash, iat, iss } = payload as Partial<Checkpoint>;
  if (
    !Number.isSafeInteger(seq) ||
    !Number.isSafeInteger(id) ||
    typeof hash !== 'string' ||
    typeof iat !== 'number'
  ) {
    throw new Error('not an audit checkpoint');
  }
  return { seq: seq!, id: id!, hash, iat, iss: iss! };
}

/** A checkpoint file's name: sorts by place in the chain, then by time. */
export function checkpointFileName(seq: number, signedAt: Date): string {
  return `${String(seq).padStart(15, '0')}-${signedAt.getTime()}.jws`;
}

/** Every `*.jws` file of a checkpoint directory, in name order. */
export async function readCheckpointDir(dir: string): Promise<{ file: string; jws: string }[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jws')).sort();
  return Promise.all(
    names.map(async (file) => ({ file, jws: (await readFile(path.join(dir, file), 'utf8')).trim() })),
  );
}

export interface WitnessSettings {
  dir: string | undefined;
  url: string | undefined;
  log: Logger;
  timeoutMs?: number;
}

/**
 * Sends a signed checkpoint where the database's users can not rewrite it: a new file in the
 * directory (never overwritten: append-only by convention, and the mount may enforce it), a log
 * line (the log stream is shipped elsewhere), and the configured HTTP endpoint. A place that
 * fails is logged and the others still get it; the next checkpoint comes a minute later.
 */
export async function publishCheckpoint(
  settings: WitnessSettings,
  checkpoint: { seq: number; id: number; hash: string; signedAt: Date; jws: string },
): Promise<void> {
  const { seq, id, hash, jws } = checkpoint;
  settings.log.info({ auditCheckpoint: { seq, id, hash, jws } }, 'audit checkpoint');
  if (settings.dir) {
    try {
      await mkdir(settings.dir, { recursive: true });
      const file = await open(path.join(settings.dir, checkpointFileName(seq, checkpoint.signedAt)), 'wx');
      try {
        await file.writeFile(`${jws}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
    } catch (err) {
      settings.log.error({ err: (err as Error).message, dir: settings.dir }, 'audit checkpoint not written');
    }
  }
  if (settings.url) {
    try {
      const res = await fetch(settings.url, {
        method: 'POST',
        headers: { 'content-type': 'application/jose' },
        body: jws,
        signal: AbortSignal.timeout(settings.timeoutMs ?? 5000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      settings.log.error(
        { err: (err as Error).message },
        'audit checkpoint not delivered to AUDIT_CHECKPOINT_URL',
      );
    }
  }
}
