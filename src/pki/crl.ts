import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { ParsedCertificate } from './certificate.js';
import { bytesEqual, derBlocks, serialHex } from './encoding.js';
import { type SignedPart, verifySignedPart } from './signed-object.js';
import { EXTENSION, formatName, readAuthorityKeyIdentifier } from './x509-fields.js';

// Certificate revocation lists: parsing, fetching from distribution points
// with a cache, and the revocation decision for one certificate.

export interface ParsedCrl {
  der: Uint8Array;
  issuer: string;
  issuerName: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Serial numbers in the form of `ParsedCertificate.serialNumberHex`. */
  revokedSerials: ReadonlySet<string>;
  authorityKeyIdentifier?: string;
  /** Why this CRL can not serve as a complete list (delta CRL, unknown critical extension). */
  unusable?: string;
  signed: SignedPart;
}

export type CrlParseResult = { ok: true; crl: ParsedCrl } | { ok: false; detail: string };

const PEM_LABELS = ['X509 CRL', 'CRL'] as const;
// Extensions of a CRL that do not change what a complete CRL means to us.
const UNDERSTOOD_CRL_EXTENSIONS = new Set<string>([
  EXTENSION.authorityKeyIdentifier,
  EXTENSION.crlNumber,
  EXTENSION.issuingDistributionPoint,
]);

export function parseCrl(input: Uint8Array | string): CrlParseResult {
  const der = derBlocks(input, PEM_LABELS)[0];
  if (!der || der.length === 0) return { ok: false, detail: 'no CRL in input' };
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset !== der.length) return { ok: false, detail: 'not a single DER value' };
  let crl: pkijs.CertificateRevocationList;
  try {
    crl = new pkijs.CertificateRevocationList({ schema: asn1.result });
  } catch (error) {
    return { ok: false, detail: `CRL schema: ${(error as Error).message}` };
  }
  const revokedSerials = new Set<string>();
  for (const entry of crl.revokedCertificates ?? []) {
    if (entry.crlEntryExtensions?.extensions.some((extension) => extension.critical)) {
      // A critical entry extension (e.g. certificateIssuer of an indirect CRL) changes whose serial this is.
      return { ok: false, detail: 'CRL entry with a critical extension' };
    }
    revokedSerials.add(serialHex(entry.userCertificate.valueBlock.valueHexView));
  }
  const parsed: ParsedCrl = {
    der: new Uint8Array(der),
    issuer: formatName(crl.issuer),
    issuerName: new Uint8Array(crl.issuer.valueBeforeDecode),
    thisUpdate: crl.thisUpdate.value,
    revokedSerials,
    signed: {
      tbs: new Uint8Array(crl.tbsView),
      algorithmOid: crl.signatureAlgorithm.algorithmId,
      algorithmParams: crl.signatureAlgorithm.algorithmParams,
      signature: new Uint8Array(crl.signatureValue.valueBlock.valueHexView),
    },
  };
  if (crl.nextUpdate) parsed.nextUpdate = crl.nextUpdate.value;
  for (const extension of crl.crlExtensions?.extensions ?? []) {
    if (extension.extnID === EXTENSION.authorityKeyIdentifier) {
      const keyId = readAuthorityKeyIdentifier(extension);
      if (keyId) parsed.authorityKeyIdentifier = keyId;
    } else if (extension.extnID === EXTENSION.deltaCrlIndicator) {
      parsed.unusable = 'delta CRL';
    } else if (extension.critical && !UNDERSTOOD_CRL_EXTENSIONS.has(extension.extnID)) {
      parsed.unusable = `unknown critical extension ${extension.extnID}`;
    }
  }
  return { ok: true, crl: parsed };
}

/** The part of `fetch` the CRL source uses, so tests and proxies can stand in. */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

export type CrlFetchResult = { ok: true; crl: ParsedCrl } | { ok: false; detail: string };

export interface CrlSource {
  /** The CRL at `url`, from the cache while it is current at `now`. */
  fetchCrl(url: string, now: Date): Promise<CrlFetchResult>;
}

export interface CrlSourceOptions {
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Large CAs publish big CRLs, but nothing legitimate is near this. */
  maxBytes?: number;
}

/**
 * Fetches CRLs over HTTP(S) and keeps each until its nextUpdate. The cache is
 * per process on purpose: a CRL is public and re-fetchable, so it is not state.
 */
export function createCrlSource(options: CrlSourceOptions = {}): CrlSource {
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
  const cache = new Map<string, ParsedCrl>();
  const inFlight = new Map<string, Promise<CrlFetchResult>>();

  async function download(url: string): Promise<CrlFetchResult> {
    let response: Awaited<ReturnType<FetchLike>>;
    let body: ArrayBuffer;
    try {
      response = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) return { ok: false, detail: `HTTP ${response.status} from ${url}` };
      body = await response.arrayBuffer();
    } catch (error) {
      return { ok: false, detail: `fetching ${url}: ${(error as Error).message}` };
    }
    if (body.byteLength > maxBytes)
      return { ok: false, detail: `CRL at ${url} is larger than ${maxBytes} bytes` };
    const parsed = parseCrl(new Uint8Array(body));
    return parsed.ok ? parsed : { ok: false, detail: `${url}: ${parsed.detail}` };
  }

  return {
    async fetchCrl(url, now) {
      if (!/^https?:\/\//i.test(url))
        return { ok: false, detail: `not an HTTP(S) distribution point: ${url}` };
      const cached = cache.get(url);
      if (cached && isCurrent(cached, now)) return { ok: true, crl: cached };
      let pending = inFlight.get(url);
      if (!pending) {
        pending = download(url).finally(() => inFlight.delete(url));
        inFlight.set(url, pending);
      }
      const result = await pending;
      if (result.ok && isCurrent(result.crl, now)) cache.set(url, result.crl);
      return result;
    },
  };
}

/** A CRL without nextUpdate is taken as current: RFC 5280 requires the field, but some CAs omit it. */
export function isCurrent(crl: ParsedCrl, now: Date): boolean {
  return (
    crl.thisUpdate.getTime() <= now.getTime() &&
    (!crl.nextUpdate || now.getTime() <= crl.nextUpdate.getTime())
  );
}

export type RevocationStatus =
  | { status: 'good'; crl: ParsedCrl }
  | { status: 'revoked'; crl: ParsedCrl }
  /** No CRL is published or configured for this certificate: nothing to check against. */
  | { status: 'not_checked' }
  | { status: 'unavailable'; detail: string };

export interface RevocationInput {
  certificate: ParsedCertificate;
  /** The certificate that issued `certificate` (its CRLs must be signed by this key). */
  issuer: ParsedCertificate;
  fileCrls: readonly ParsedCrl[];
  crlSource: CrlSource;
  now: Date;
}

export async function checkRevocation(input: RevocationInput): Promise<RevocationStatus> {
  const { certificate, issuer, now } = input;
  const problems: string[] = [];
  const fromFiles = input.fileCrls.filter((crl) => bytesEqual(crl.issuerName, certificate.issuerName));

  const usable = (crl: ParsedCrl, origin: string): boolean => {
    const problem = crlProblem(crl, issuer, now);
    if (problem) problems.push(`${origin}: ${problem}`);
    return problem === undefined;
  };

  // A current file CRL is enough; the network is only asked when there is none.
  let current = fromFiles.filter((crl) => usable(crl, 'file CRL'));
  if (current.length === 0) {
    for (const url of certificate.crlDistributionPoints) {
      const fetched = await input.crlSource.fetchCrl(url, now);
      if (!fetched.ok) problems.push(fetched.detail);
      else if (usable(fetched.crl, url)) {
        current = [fetched.crl];
        break;
      }
    }
  }

  const revokedBy = current.find((crl) => crl.revokedSerials.has(certificate.serialNumberHex));
  if (revokedBy) return { status: 'revoked', crl: revokedBy };
  if (current[0]) return { status: 'good', crl: current[0] };
  if (certificate.crlDistributionPoints.length === 0 && fromFiles.length === 0)
    return { status: 'not_checked' };
  return { status: 'unavailable', detail: problems.join('; ') || 'no CRL found' };
}

function crlProblem(crl: ParsedCrl, issuer: ParsedCertificate, now: Date): string | undefined {
  if (crl.unusable) return crl.unusable;
  if (!bytesEqual(crl.issuerName, issuer.subjectName)) return 'issued by another CA';
  if (issuer.keyUsage && !issuer.keyUsage.includes('cRLSign')) return 'issuer may not sign CRLs';
  if (!verifySignedPart(crl.signed, issuer.publicKey)) return 'signature does not verify';
  if (crl.thisUpdate.getTime() > now.getTime()) return 'not yet valid';
  if (!isCurrent(crl, now)) return `expired at ${crl.nextUpdate?.toISOString()}`;
  return undefined;
}
