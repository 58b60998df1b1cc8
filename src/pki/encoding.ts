// Byte-level helpers shared by the PKI modules: PEM armour, hex, and the two
// encodings of an (r, s) signature pair.

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block in `text`, in order; text outside the blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const body = match[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    blocks.push({ label: match[1]!, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

/**
 * DER bytes from input that may be DER already or PEM text (as a string or as
 * file bytes). Returns the blocks with the wanted label; DER input is one block.
 */
export function derBlocks(input: Uint8Array | string, labels: readonly string[]): Uint8Array[] {
  if (typeof input !== 'string' && !looksLikePem(input)) return [input];
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return pemBlocks(text)
    .filter((block) => labels.includes(block.label))
    .map((block) => block.der);
}

function looksLikePem(bytes: Uint8Array): boolean {
  // DER always starts with a SEQUENCE tag (0x30); PEM files may start with a comment.
  return (
    bytes.length > 0 && bytes[0] !== 0x30 && Buffer.from(bytes.subarray(0, 4096)).includes('-----BEGIN ')
  );
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Serial numbers as lower-case hex without the sign-padding zero bytes, so the
 * serial in a certificate and in a CRL entry compare equal however encoded.
 */
export function serialHex(integerBytes: Uint8Array): string {
  let start = 0;
  while (start < integerBytes.length - 1 && integerBytes[start] === 0) start++;
  return toHex(integerBytes.subarray(start));
}

export interface RsPair {
  r: bigint;
  s: bigint;
}

/**
 * Strict DER `SEQUENCE { INTEGER r, INTEGER s }`; undefined for anything else
 * (trailing bytes, non-minimal lengths or integers, negative values).
 */
export function decodeDerSignature(bytes: Uint8Array): RsPair | undefined {
  const outer = readTlv(bytes, 0);
  if (outer?.tag !== 0x30 || outer.end !== bytes.length) return undefined;
  const r = readTlv(bytes, outer.start);
  if (r?.tag !== 0x02) return undefined;
  const s = readTlv(bytes, r.end);
  if (s?.tag !== 0x02 || s.end !== outer.end) return undefined;
  const rBytes = bytes.subarray(r.start, r.end);
  const sBytes = bytes.subarray(s.start, s.end);
  if (!isMinimalPositiveInteger(rBytes) || !isMinimalPositiveInteger(sBytes)) return undefined;
  return { r: BigInt(`0x${toHex(rBytes)}`), s: BigInt(`0x${toHex(sBytes)}`) };
}

export function encodeDerSignature({ r, s }: RsPair): Uint8Array {
  const body = Buffer.concat([encodeDerInteger(r), encodeDerInteger(s)]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30]), encodeLength(body.length), body]));
}

export function bigintToFixedBytes(value: bigint, size: number): Uint8Array {
  return new Uint8Array(Buffer.from(value.toString(16).padStart(size * 2, '0'), 'hex'));
}

function encodeDerInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), encodeLength(bytes.length), bytes]);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

function readTlv(bytes: Uint8Array, offset: number): { tag: number; start: number; end: number } | undefined {
  if (offset + 2 > bytes.length) return undefined;
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 2 || start + count > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i]!;
    // DER: the long form only when the short form can not say it, without leading zeros.
    if (length < 0x80 || (count === 2 && length < 0x100)) return undefined;
    start += count;
  }
  const end = start + length;
  return end <= bytes.length ? { tag, start, end } : undefined;
}

function isMinimalPositiveInteger(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes[0]! & 0x80) return false;
  return !(bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80));
}
