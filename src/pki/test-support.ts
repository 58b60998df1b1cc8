import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { creditCodeCheckCharacter } from '../identifiers/credit-code.js';
import type { DevAlgorithm } from './dev-ca.js';
import type { SignatureAlgorithm } from './signature.js';

// Helpers for the PKI tests only: fixtures are made at test time, never committed.

export const DEV_ALGORITHMS: readonly DevAlgorithm[] = ['RSA', 'ECDSA-P256', 'ECDSA-P384', 'SM2'];

/** The challenge signature algorithm a key of each kind uses by default. */
export const SIGNATURE_ALGORITHM_FOR: Record<DevAlgorithm, SignatureAlgorithm> = {
  RSA: 'RSASSA-PKCS1-v1_5-SHA256',
  'ECDSA-P256': 'ECDSA-P256-SHA256',
  'ECDSA-P384': 'ECDSA-P384-SHA384',
  SM2: 'SM2-SM3',
};

/** A signature algorithm that does not fit a key of the given kind. */
export const MISFIT_ALGORITHM_FOR: Record<DevAlgorithm, SignatureAlgorithm> = {
  RSA: 'ECDSA-P256-SHA256',
  'ECDSA-P256': 'ECDSA-P384-SHA384',
  'ECDSA-P384': 'SM2-SM3',
  // An SM2 key is an EC key to OpenSSL; claiming ECDSA must still be refused.
  SM2: 'ECDSA-P256-SHA256',
};

/** A random credit code with a correct check character, an enterprise's (91…) unless told. */
export function randomCreditCode(prefix = '91'): string {
  const charset = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  let body = `${prefix}350100`;
  for (let i = 0; i < 9; i++) body += charset[randomInt(charset.length)];
  return body + creditCodeCheckCharacter(body);
}

export async function makeTempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'unified-id-pki-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface CrlServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Serve `body` at `path`; undefined answers 404. */
  serve(path: string, body: Uint8Array | undefined): void;
  requestCount(path: string): number;
  close(): Promise<void>;
}

/** A CA's CRL distribution point on 127.0.0.1, as a real HTTP server. */
export async function startCrlServer(): Promise<CrlServer> {
  const bodies = new Map<string, Uint8Array>();
  const counts = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const body = bodies.get(path);
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    serve(path, body) {
      if (body) bodies.set(path, body);
      else bodies.delete(path);
    },
    requestCount: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** A copy of `der` with the first occurrence of `from` replaced by `to` (same length). */
export function tamper(der: Uint8Array, from: string, to: string): Uint8Array {
  const source = Buffer.from(der);
  const at = source.indexOf(from);
  if (at < 0 || Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('nothing to tamper with');
  const copy = Buffer.from(source);
  copy.write(to, at);
  return new Uint8Array(copy);
}
