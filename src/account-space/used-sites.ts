import type { AccountSpaceDeps } from './account-context.js';

export interface UsedSite {
  name: string;
  /** The site's address: the origin of its first registered callback (see siteAddress). */
  url: string | undefined;
}

/**
 * The sites this person has used (已授权网站, and those of the signed-in sessions), as 切换站点
 * links back to them. The address is what the site registered, never anything the browser sent.
 */
export async function usedSites(
  deps: Pick<AccountSpaceDeps, 'clients' | 'consents' | 'models' | 'accountSpaceClientId' | 'issuer'>,
  accountId: string,
): Promise<UsedSite[]> {
  const ids = new Set((await deps.consents.listFor(accountId)).map((c) => c.client_id));
  for (const { payload } of await deps.models.sessionsOf(accountId)) {
    for (const id of Object.keys((payload['authorizations'] as Record<string, unknown>) ?? {})) ids.add(id);
  }
  ids.delete(deps.accountSpaceClientId);
  if (!ids.size) return [];
  return (await deps.clients.list())
    .filter((c) => ids.has(c.client_id) && !c.disabled)
    .map((c) => ({ name: c.name, url: siteAddress(c.redirect_uris, deps.issuer) }));
}

/**
 * A site's home is the origin of its callback; a site served under the provider's own origin
 * (the development demo site) is the callback's folder instead.
 */
export function siteAddress(redirectUris: string[], issuer: string): string | undefined {
  const first = redirectUris.find((u) => URL.canParse(u));
  if (!first) return undefined;
  const url = new URL(first);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return url.origin === new URL(issuer).origin ? new URL('./', url).href : `${url.origin}/`;
}
