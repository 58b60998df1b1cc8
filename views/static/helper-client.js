// Talking to the 证书助手 on 127.0.0.1 under Chrome's Local Network Access (Chrome 142+, Edge 143+):
// a page may reach a loopback address only once the person allows it, so the page says what it
// targets, reads the permission before asking, and calls the helper only from a click (the
// browser's prompt needs a user gesture to be worth answering).

/** Why the helper could not be reached, in the words each help panel is chosen by. */
export class HelperUnreachable extends Error {
  /** @param {'denied' | 'missing' | 'refused'} reason */
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

// Newer Chromium names the loopback half of the permission on its own; the builds that shipped
// Local Network Access first know only the older, wider name.
const PERMISSION_NAMES = ['loopback-network', 'local-network-access'];

/** 'granted', 'prompt', 'denied', or 'unknown' where the browser has no such permission. */
export async function helperPermission() {
  if (!navigator.permissions?.query) return 'unknown';
  for (const name of PERMISSION_NAMES) {
    try {
      return (await navigator.permissions.query({ name })).state;
    } catch {
      // Not a permission this browser knows: try the next name.
    }
  }
  return 'unknown';
}

/**
 * fetch() to the helper. `targetAddressSpace` tells Chrome this request means to reach the
 * loopback address (it then asks the person instead of failing); other browsers ignore the
 * member. Failures become HelperUnreachable: 'denied' when the permission says so, 'refused'
 * when a helper answers but not this site, 'missing' otherwise (nothing listens).
 */
export async function callHelper(base, path, init = {}) {
  const options = { ...init, targetAddressSpace: 'loopback' };
  try {
    return await fetch(`${base}${path}`, options);
  } catch {
    if ((await helperPermission()) === 'denied') throw new HelperUnreachable('denied');
    throw new HelperUnreachable((await somethingListens(base)) ? 'refused' : 'missing');
  }
}

/**
 * A helper installed for another provider refuses this origin without CORS headers, which fetch
 * reports like a closed port. An opaque (no-cors) request tells the two apart: it resolves when
 * anything answered, whatever it said, and fails only when nothing did.
 */
async function somethingListens(base) {
  try {
    await fetch(`${base}/v1/status`, { mode: 'no-cors', targetAddressSpace: 'loopback' });
    return true;
  } catch {
    return false;
  }
}
