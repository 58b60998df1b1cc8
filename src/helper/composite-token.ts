import { createHash } from 'node:crypto';
import { type BridgeToken, KeyNotFound, type TokenCertificate, type TokenStatus } from '../bridge/token.js';

/** A token present now, named by what identifies it across requests (library, slot, serial). */
export interface PresentToken {
  key: string;
  /** The interface the token is reached through. */
  kind: 'pkcs11' | 'skf';
  token: BridgeToken;
}

/** One library the helper uses: it says which of its tokens are present at each request. */
export interface TokenSource {
  readonly path: string;
  present(): PresentToken[];
  close(): void;
}

/** The libraries in use, found again from time to time by the caller; closing closes them all. */
export interface TokenSources {
  current(): TokenSource[];
  close(): void;
}

/** 4 bytes of SHA-256 of the token's key: short, hex (as the bridge wants ids), and stable. */
const PREFIX_LENGTH = 8;
const prefixOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, PREFIX_LENGTH);

/**
 * Every token of every library behind one BridgeToken, so that the page sees one list whether
 * the clerk's key speaks PKCS#11 or SKF. A certificate's id is its token's prefix followed by
 * the id the token gave it, so a signature request goes back to the token it was listed from.
 * Tokens are asked for at each request: a key plugged in after the helper started is seen.
 */
export class CompositeToken implements BridgeToken {
  readonly #sources: TokenSources;

  constructor(sources: TokenSources) {
    this.#sources = sources;
  }

  #present(): PresentToken[] {
    return this.#sources.current().flatMap((source) => {
      try {
        return source.present();
      } catch {
        // A library that fails (its key pulled out mid-call, a driver in a bad state) hides only its own tokens.
        return [];
      }
    });
  }

  info(): TokenStatus {
    const statuses = this.#present().flatMap(({ token }) => {
      try {
        return [token.info()];
      } catch {
        return [];
      }
    });
    const slots = statuses.flatMap((s) => s.slots.filter((slot) => slot.selected));
    return {
      module: [...new Set(statuses.map((s) => s.module))].join(', '),
      library: [...new Set(statuses.map((s) => s.library))].join(', '),
      token: statuses.map((s) => s.token).join(', '),
      slots: slots.map((slot, index) => ({ ...slot, index })),
    };
  }

  listCertificates(): TokenCertificate[] {
    const listed = this.#present().flatMap(({ key, kind, token }) => {
      try {
        return token
          .listCertificates()
          .map((c) => ({ kind, entry: { ...c, id: `${prefixOf(key)}${c.id}` } }));
      } catch {
        return [];
      }
    });
    // A vendor may ship a PKCS#11 module and an SKF library for the same key: the clerk should
    // see each certificate once, through the interface that can sign with it (SKF for SM2,
    // whose mechanisms vendor PKCS#11 modules name each their own way, PKCS#11 for the rest).
    const chosen = new Map<string, { kind: PresentToken['kind']; entry: TokenCertificate }>();
    for (const item of listed) {
      const seen = chosen.get(item.entry.certificate);
      const wanted = item.entry.keyAlgorithm === 'SM2' ? 'skf' : 'pkcs11';
      if (!seen || (seen.kind !== wanted && item.kind === wanted)) chosen.set(item.entry.certificate, item);
    }
    return [...chosen.values()].map((c) => c.entry);
  }

  sign(id: string, pin: string, data: Buffer, algorithm: string): Buffer {
    const prefix = id.slice(0, PREFIX_LENGTH).toLowerCase();
    const inner = id.slice(PREFIX_LENGTH);
    const found = this.#present().find(({ key }) => prefixOf(key) === prefix);
    if (!found || !inner) throw new KeyNotFound();
    return found.token.sign(inner, pin, data, algorithm);
  }

  close(): void {
    this.#sources.close();
  }
}
