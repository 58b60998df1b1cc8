import { type KeyObject, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

// PKCS#12 files for the login page's software certificate. Everything is
// protected with PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) and an HMAC-SHA256
// MAC: what OpenSSL 3 writes by default and what WebCrypto can open in the page.

const BAG = {
  shroudedKey: '1.2.840.113549.1.12.10.1.2',
  certificate: '1.2.840.113549.1.12.10.1.3',
} as const;
const ATTRIBUTE = {
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;

const ITERATIONS = 10_000;

export interface Pkcs12Options {
  /** Shown by certificate pickers; defaults to nothing. */
  friendlyName?: string;
}

/**
 * A password-protected PKCS#12 holding the key, its certificate and the CA
 * chain. Works for RSA, ECDSA and SM2 keys (pkijs treats the PKCS#8 as opaque).
 */
export async function toPkcs12(
  certificateDer: Uint8Array,
  privateKey: KeyObject,
  caChainDer: readonly Uint8Array[],
  password: string,
  options: Pkcs12Options = {},
): Promise<Uint8Array> {
  const localKeyId = randomBytes(20);
  const keyAttributes = [
    new pkijs.Attribute({
      type: ATTRIBUTE.localKeyId,
      values: [new asn1js.OctetString({ valueHex: localKeyId })],
    }),
  ];
  if (options.friendlyName) {
    keyAttributes.push(
      new pkijs.Attribute({
        type: ATTRIBUTE.friendlyName,
        values: [new asn1js.BmpString({ value: options.friendlyName })],
      }),
    );
  }
  const pkcs8 = privateKeyInfo(privateKey);
  const certificateBags = [certificateDer, ...caChainDer].map(
    (der, index) =>
      new pkijs.SafeBag({
        bagId: BAG.certificate,
        bagValue: new pkijs.CertBag({ parsedValue: pkijs.Certificate.fromBER(der) }),
        // The localKeyId pairs the end-entity certificate with its key.
        ...(index === 0 ? { bagAttributes: keyAttributes } : {}),
      }),
  );

  const pfx = new pkijs.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pkijs.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            {
              privacyMode: 0,
              value: new pkijs.SafeContents({
                safeBags: [
                  new pkijs.SafeBag({
                    bagId: BAG.shroudedKey,
                    bagValue: new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkcs8 }),
                    bagAttributes: keyAttributes,
                  }),
                ],
              }),
            },
            { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certificateBags }) },
          ],
        },
      }),
    },
  });

  // pkijs derives both the PBES2 keys and the MAC key from the UTF-8 bytes, as OpenSSL 3 does.
  const passwordBytes = new TextEncoder().encode(password).buffer as ArrayBuffer;
  const encryption = {
    password: passwordBytes,
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 },
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: ITERATIONS,
  };
  const authenticatedSafe = pfx.parsedValue!.authenticatedSafe!;
  const keyBag = authenticatedSafe.parsedValue.safeContents[0]!.value.safeBags[0]!
    .bagValue as pkijs.PKCS8ShroudedKeyBag;
  await keyBag.makeInternalValues(encryption);
  await authenticatedSafe.makeInternalValues({ safeContents: [{}, encryption] });
  await pfx.makeInternalValues({
    password: passwordBytes,
    iterations: ITERATIONS,
    pbkdf2HashAlgorithm: 'SHA-256',
    hmacHashAlgorithm: 'SHA-256',
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}

// Built from its parts: pkijs would otherwise try to decode the inner key and
// fails on curves it does not know (SM2); the PKCS#12 only needs the bytes.
function privateKeyInfo(privateKey: KeyObject): pkijs.PrivateKeyInfo {
  const der = new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }));
  const [, algorithm, key] = (asn1js.fromBER(der).result as asn1js.Sequence).valueBlock.value;
  if (!(algorithm instanceof asn1js.Sequence) || !(key instanceof asn1js.OctetString)) {
    throw new TypeError('unexpected PKCS#8 encoding from node:crypto');
  }
  return new pkijs.PrivateKeyInfo({
    version: 0,
    privateKeyAlgorithm: new pkijs.AlgorithmIdentifier({ schema: algorithm }),
    privateKey: new asn1js.OctetString({ valueHex: key.valueBlock.valueHexView }),
  });
}
