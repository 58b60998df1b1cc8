import type { FoundLibrary } from './discover.js';
import { openSource, preferredKind } from './token-sources.js';

/** A library found, and what opening it showed: the tokens present, or why it did not open. */
export interface ListedLibrary extends FoundLibrary {
  tokens?: string[];
  openError?: string;
}

const KIND_NAMES = { pkcs11: 'PKCS#11', skf: 'SKF' } as const;

/** Opens each library the helper could use and asks it for its tokens, then lets it go. */
export function withTokens(found: FoundLibrary[]): ListedLibrary[] {
  return found.map((library) => {
    const kind = preferredKind(library);
    if (!kind || library.problem) return library;
    try {
      const source = openSource(library.path, kind);
      try {
        return { ...library, tokens: source.tokenLabels() };
      } finally {
        source.close();
      }
    } catch (err) {
      return { ...library, openError: (err as Error).message };
    }
  });
}

/** What `--list` prints: one block per library, saying where it was found and why. */
export function formatList(listed: ListedLibrary[]): string {
  if (!listed.length)
    return 'No USB-key library found. Install the driver of the key (from the CA), or name its library with --module.\n';
  const blocks = listed.map((l) => {
    const kinds = l.kinds.length ? l.kinds.map((k) => KIND_NAMES[k]).join(' + ') : 'neither PKCS#11 nor SKF';
    const lines = [`${l.path}`, `  interface: ${kinds}`];
    if (l.vendor) lines.push(`  table:     ${l.vendor}, ${l.product}`);
    for (const why of l.why) lines.push(`  found:     ${why}`);
    for (const other of l.also) lines.push(`  also as:   ${other}`);
    if (l.format) lines.push(`  file:      ${l.format}, ${l.arch}`);
    if (l.problem) lines.push(`  not used:  ${l.problem}`);
    else if (l.openError) lines.push(`  not used:  could not be opened: ${l.openError}`);
    else if (l.tokens)
      lines.push(
        l.tokens.length
          ? `  tokens:    ${l.tokens.map((t) => `"${t}"`).join(', ')}`
          : '  tokens:    none present (is the key plugged in?)',
      );
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
