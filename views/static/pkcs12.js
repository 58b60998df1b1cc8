// Opens a PKCS#12 file in the page (PBES2: PBKDF2 + AES-CBC, as current tools write them) with
// WebCrypto, so a software certificate can sign the login challenge without a USB key. The file
// and its password never leave the browser.
const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacSha1: '1.2.840.113549.2.7',
  hmacSha256: '1.2.840.113549.2.9',
  aes128: '2.16.840.1.101.3.4.1.2',
  aes256: '2.16.840.1.101.3.4.1.42',
  rsa: '1.2.840.113549.1.1.1',
  ec: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
};

// BER, as PKCS#12 writers use it: definite lengths, and indefinite ones (0x80 … 00 00).
function node(bytes, offset) {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let header = 2;
  const start = () => offset + header;
  if (length === 0x80) {
    let p = offset + 2;
    while (!(bytes[p] === 0 && bytes[p + 1] === 0)) {
      if (p >= bytes.length) throw new Error('truncated');
      p = node(bytes, p).end;
    }
    return { tag, start: offset + 2, contentEnd: p, end: p + 2, content: bytes.subarray(offset + 2, p), bytes };
  }
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  const from = start();
  return { tag, start: from, contentEnd: from + length, end: from + length, content: bytes.subarray(from, from + length), bytes };
}

function parse(bytes) {
  const root = node(bytes, 0);
  const kids = (n) => {
    const list = [];
    for (let offset = n.start; offset < n.contentEnd; ) {
      const child = node(n.bytes, offset);
      list.push(child);
      offset = child.end;
    }
    return list;
  };
  return { root, kids };
}

function oid(n) {
  const b = n.content;
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let value = 0;
  for (let i = 1; i < b.length; i++) {
    value = value * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function integer(n) {
  let value = 0;
  for (const byte of n.content) value = value * 256 + byte;
  return value;
}

/** The content of a (possibly constructed) OCTET STRING or [0] IMPLICIT octets. */
function octets(n, kids) {
  if ((n.tag & 0x20) === 0) return n.content;
  const pieces = kids(n).map((c) => octets(c, kids));
  const out = new Uint8Array(pieces.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function pbes2Decrypt(algorithm, encrypted, password, kids) {
  const [algOid, params] = kids(algorithm);
  if (oid(algOid) !== OID.pbes2) throw new Error('unsupported');
  const [kdf, scheme] = kids(params);
  const [kdfOid, kdfParams] = kids(kdf);
  if (oid(kdfOid) !== OID.pbkdf2) throw new Error('unsupported');
  const kp = kids(kdfParams);
  const salt = kp[0].content;
  const iterations = integer(kp[1]);
  const prfNode = kp.find((c) => c.tag === 0x30);
  const hash = prfNode && oid(kids(prfNode)[0]) === OID.hmacSha256 ? 'SHA-256' : 'SHA-1';
  const [schemeOid, iv] = kids(scheme);
  const length = oid(schemeOid) === OID.aes128 ? 128 : 256;
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', salt, iterations, hash },
    base,
    { name: 'AES-CBC', length },
    false,
    ['decrypt'],
  );
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv: iv.content }, key, encrypted));
}

async function readBags(safeContentsDer, password, found) {
  const { root, kids } = parse(safeContentsDer);
  for (const bag of kids(root)) {
    const [bagId, wrapped] = kids(bag);
    const value = kids(wrapped)[0];
    if (oid(bagId) === OID.shroudedKeyBag) {
      const [algorithm, encrypted] = kids(value);
      found.pkcs8 = await pbes2Decrypt(algorithm, octets(encrypted, kids), password, kids);
    } else if (oid(bagId) === OID.certBag) {
      const certValue = kids(kids(value)[1])[0];
      found.certificates.push(octets(certValue, kids).slice());
    }
  }
}

/** → { pkcs8, certificates: [leaf, …chain] } */
export async function openPkcs12(fileBytes, password) {
  const { root, kids } = parse(fileBytes);
  const authSafe = kids(root)[1];
  const authSafeDer = octets(kids(kids(authSafe)[1])[0], kids).slice();
  const safe = parse(authSafeDer);
  const found = { pkcs8: undefined, certificates: [] };
  for (const contentInfo of safe.kids(safe.root)) {
    const [type, explicit] = safe.kids(contentInfo);
    const inner = safe.kids(explicit)[0];
    if (oid(type) === OID.data) {
      await readBags(octets(inner, safe.kids).slice(), password, found);
    } else if (oid(type) === OID.encryptedData) {
      const [, encryptedContentInfo] = safe.kids(inner);
      const [, algorithm, content] = safe.kids(encryptedContentInfo);
      await readBags(await pbes2Decrypt(algorithm, octets(content, safe.kids), password, safe.kids), password, found);
    }
  }
  if (!found.pkcs8 || !found.certificates.length) throw new Error('empty');
  return found;
}

/** The WebCrypto key and our algorithm name for a PKCS#8 key. */
export async function importSigningKey(pkcs8) {
  const { root, kids } = parse(pkcs8);
  const algorithm = kids(root)[1];
  const [keyOid, params] = kids(algorithm);
  if (oid(keyOid) === OID.rsa) {
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key, params: { name: 'RSASSA-PKCS1-v1_5' }, algorithm: 'RSASSA-PKCS1-v1_5-SHA256' };
  }
  if (oid(keyOid) === OID.ec) {
    const curve = oid(params) === OID.p384 ? 'P-384' : oid(params) === OID.p256 ? 'P-256' : undefined;
    if (!curve) throw new Error('curve');
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
    return curve === 'P-256'
      ? { key, params: { name: 'ECDSA', hash: 'SHA-256' }, algorithm: 'ECDSA-P256-SHA256' }
      : { key, params: { name: 'ECDSA', hash: 'SHA-384' }, algorithm: 'ECDSA-P384-SHA384' };
  }
  throw new Error('algorithm');
}
