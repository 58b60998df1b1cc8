import { CKF_TOKEN_INITIALIZED, Pkcs11Module, type TokenInfo } from '../bridge/pkcs11-ffi.js';
import { SkfToken } from '../bridge/skf-token.js';
import { Pkcs11Token } from '../bridge/token.js';
import type { PresentToken, TokenSource, TokenSources } from './composite-token.js';
import type { FoundLibrary, LibraryKind } from './discover.js';

/** A PKCS#11 module: one token per slot that holds one now, kept while its slot does. */
export class Pkcs11Source implements TokenSource {
  readonly #module: Pkcs11Module;
  readonly #tokens = new Map<string, Pkcs11Token>();

  constructor(readonly path: string) {
    // Kept open so that Cryptoki stays initialised between requests (each token shares it).
    this.#module = Pkcs11Module.open(path);
  }

  /** Tokens that hold something: an uninitialised one (SoftHSM2's free slot, a blank key) has no certificate. */
  #initialised(): { slot: number; info: TokenInfo }[] {
    return this.#module
      .getSlotList(true)
      .map((slot) => ({ slot, info: this.#module.getTokenInfo(slot) }))
      .filter(({ info }) => (info.flags & CKF_TOKEN_INITIALIZED) !== 0);
  }

  present(): PresentToken[] {
    const present: PresentToken[] = [];
    const keys = new Set<string>();
    for (const { slot, info: t } of this.#initialised()) {
      // Another key in the same reader gets another key here: its ids must not reach the first one's.
      const key = ['pkcs11', this.path, slot, t.manufacturerID, t.serialNumber, t.label].join('\n');
      keys.add(key);
      let token = this.#tokens.get(key);
      if (!token) {
        token = new Pkcs11Token(this.path, { slotId: slot });
        this.#tokens.set(key, token);
      }
      present.push({ key, kind: 'pkcs11', token });
    }
    for (const [key, token] of this.#tokens)
      if (!keys.has(key)) {
        token.close();
        this.#tokens.delete(key);
      }
    return present;
  }

  /** Labels of the tokens present, for --list. */
  tokenLabels(): string[] {
    return this.#initialised().map(({ info: t }) => {
      return [t.label, [t.manufacturerID, t.model].filter(Boolean).join(' ')].filter(Boolean).join(' — ');
    });
  }

  close(): void {
    for (const token of this.#tokens.values()) token.close();
    this.#tokens.clear();
    this.#module.close();
  }
}

/** An SKF library: one token per device it enumerates now. */
export class SkfSource implements TokenSource {
  readonly #probe: SkfToken;
  readonly #tokens = new Map<string, SkfToken>();

  constructor(readonly path: string) {
    this.#probe = new SkfToken(path);
  }

  #devices() {
    return this.#probe.info().slots;
  }

  present(): PresentToken[] {
    return this.#devices().map((device) => {
      const key = ['skf', this.path, device.model].join('\n');
      let token = this.#tokens.get(key);
      if (!token) {
        token = new SkfToken(this.path, { device: device.model });
        this.#tokens.set(key, token);
      }
      return { key, kind: 'skf' as const, token };
    });
  }

  tokenLabels(): string[] {
    return this.#devices().map((d) => [d.label, d.manufacturer].filter(Boolean).join(' — ') || d.model);
  }

  close(): void {
    for (const token of this.#tokens.values()) token.close();
    this.#tokens.clear();
    this.#probe.close();
  }
}

export type LabelledSource = TokenSource & { tokenLabels(): string[] };

export function openSource(path: string, kind: LibraryKind): LabelledSource {
  return kind === 'pkcs11' ? new Pkcs11Source(path) : new SkfSource(path);
}

/** The kind the helper uses a library as: PKCS#11 when it offers both (RSA and P-256 keys live there). */
export const preferredKind = (library: FoundLibrary): LibraryKind | undefined =>
  library.kinds.includes('pkcs11') ? 'pkcs11' : library.kinds[0];

/**
 * The libraries found by `find`, opened once each and found again at most every `refreshMs`:
 * a driver installed after the helper started is picked up at the next request.
 */
export class DiscoveredSources implements TokenSources {
  readonly #sources = new Map<string, LabelledSource>();
  readonly #failed = new Map<string, string>();
  #lastFound = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly find: () => FoundLibrary[],
    private readonly refreshMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  current(): TokenSource[] {
    if (this.now() - this.#lastFound >= this.refreshMs) this.refresh();
    return [...this.#sources.values()];
  }

  /** Libraries that could not be opened, and why (for the start-up message). */
  failures(): ReadonlyMap<string, string> {
    return this.#failed;
  }

  refresh(): void {
    this.#lastFound = this.now();
    for (const library of this.find()) {
      const kind = preferredKind(library);
      if (!kind || library.problem || this.#sources.has(library.path)) continue;
      try {
        this.#sources.set(library.path, openSource(library.path, kind));
        this.#failed.delete(library.path);
      } catch (err) {
        this.#failed.set(library.path, (err as Error).message);
      }
    }
  }

  close(): void {
    for (const source of this.#sources.values()) source.close();
    this.#sources.clear();
  }
}
