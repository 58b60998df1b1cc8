import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type CertificateFieldMap, type ParsedCertificate, parseCertificate } from './certificate.js';
import { type ParsedCrl, parseCrl } from './crl.js';
import { derBlocks } from './encoding.js';

// The CAs an operator trusts, as files (README.md, `CERTS_DIR`):
//   certs/*.pem               trust anchors, one CA per file
//   certs/intermediate/*      intermediate CAs, used to complete chains
//   certs/crl/*               CRLs, PEM or DER
//   certs/dev/…               the same layout for the development CA, only when asked for

export interface TrustStore {
  anchors: readonly ParsedCertificate[];
  intermediates: readonly ParsedCertificate[];
  crls: readonly ParsedCrl[];
  /** CA-specific extensions (OID → field) to read leaf certificates with, as configured. */
  fieldMap?: CertificateFieldMap;
}

export class TrustStoreError extends Error {
  override name = 'TrustStoreError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export interface LoadTrustStoreOptions {
  /** Usually `certs`. */
  dir: string;
  /** Also load `dir/dev/` (the development CA). Never in production. */
  includeDev?: boolean;
  fieldMap?: CertificateFieldMap;
}

const CERTIFICATE_FILES = new Set(['.pem', '.crt', '.cer', '.der']);
const CRL_FILES = new Set(['.pem', '.crl', '.der']);

/** Reads the trust store; a file that can not be read is an error, not silently skipped. */
export async function loadTrustStore(options: LoadTrustStoreOptions): Promise<TrustStore> {
  const roots = options.includeDev ? [options.dir, join(options.dir, 'dev')] : [options.dir];
  const anchors: ParsedCertificate[] = [];
  const intermediates: ParsedCertificate[] = [];
  const crls: ParsedCrl[] = [];
  for (const root of roots) {
    // The top directory must exist; the dev and sub-directories are optional.
    const required = root === options.dir;
    for (const file of await listFiles(root, CERTIFICATE_FILES, required)) {
      anchors.push(await readCertificateFile(file, options.fieldMap));
    }
    for (const file of await listFiles(join(root, 'intermediate'), CERTIFICATE_FILES, false)) {
      intermediates.push(await readCertificateFile(file, options.fieldMap));
    }
    for (const file of await listFiles(join(root, 'crl'), CRL_FILES, false)) {
      crls.push(await readCrlFile(file));
    }
  }
  return {
    anchors: unique(anchors),
    intermediates: unique(intermediates),
    crls,
    ...(options.fieldMap ? { fieldMap: options.fieldMap } : {}),
  };
}

export interface TrustStoreContents {
  anchors: readonly (Uint8Array | string)[];
  intermediates?: readonly (Uint8Array | string)[];
  crls?: readonly (Uint8Array | string)[];
  fieldMap?: CertificateFieldMap;
}

/** A trust store from certificates and CRLs already in memory. */
export function createTrustStore(contents: TrustStoreContents): TrustStore {
  const certificate = (input: Uint8Array | string, index: number): ParsedCertificate => {
    const parsed = parseCertificate(input, { fieldMap: contents.fieldMap ?? {} });
    if (!parsed.ok) throw new TrustStoreError(`certificate #${index}`, parsed.detail);
    return parsed.certificate;
  };
  return {
    anchors: unique(contents.anchors.map(certificate)),
    intermediates: unique((contents.intermediates ?? []).map(certificate)),
    crls: (contents.crls ?? []).map((input, index) => {
      const parsed = parseCrl(input);
      if (!parsed.ok) throw new TrustStoreError(`CRL #${index}`, parsed.detail);
      return parsed.crl;
    }),
    // validateCertificate reads leaf certificates with the store's map, as with loadTrustStore's.
    ...(contents.fieldMap ? { fieldMap: contents.fieldMap } : {}),
  };
}

async function listFiles(dir: string, extensions: ReadonlySet<string>, required: boolean): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TrustStoreError(dir, `can not read directory: ${(error as Error).message}`);
  }
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .filter((entry) => extensions.has(extname(entry.name).toLowerCase()))
    .map((entry) => join(dir, entry.name))
    .sort();
}

async function readCertificateFile(
  file: string,
  fieldMap: CertificateFieldMap | undefined,
): Promise<ParsedCertificate> {
  const bytes = new Uint8Array(await readFile(file));
  const blocks = derBlocks(bytes, ['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
  // One CA per file keeps removing a CA a matter of deleting its file.
  if (blocks.length !== 1)
    throw new TrustStoreError(file, `expected one certificate, found ${blocks.length}`);
  const parsed = parseCertificate(blocks[0]!, { fieldMap: fieldMap ?? {} });
  if (!parsed.ok) throw new TrustStoreError(file, parsed.detail);
  return parsed.certificate;
}

async function readCrlFile(file: string): Promise<ParsedCrl> {
  const parsed = parseCrl(new Uint8Array(await readFile(file)));
  if (!parsed.ok) throw new TrustStoreError(file, parsed.detail);
  return parsed.crl;
}

function unique(certificates: ParsedCertificate[]): ParsedCertificate[] {
  const seen = new Set<string>();
  return certificates.filter((certificate) => {
    if (seen.has(certificate.fingerprintSha256)) return false;
    seen.add(certificate.fingerprintSha256);
    return true;
  });
}
