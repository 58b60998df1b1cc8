import type { Context } from 'koa';
import type { Account } from 'oidc-provider';
import type { AccountRow } from '../accounts/account-store.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { temporarilyUnavailable } from './protocol-errors.js';

export interface AccountLookup {
  find(id: string): Promise<AccountRow | undefined>;
}

/** Claims a relying party may receive, computed from the account as it is now (levels change). */
export function accountClaims(account: AccountRow): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    sub: account.id,
    user_type: account.user_type,
    certification_level: account.certification_level,
    updated_at: Math.floor(new Date(account.updated_at).getTime() / 1000),
  };
  if (account.phone) {
    claims['phone_number'] = account.phone;
    claims['phone_number_verified'] = true;
  }
  return claims;
}

export class AccountClaimsSource {
  constructor(private readonly accounts: AccountLookup) {}

  async findAccount(_ctx: Context, sub: string): Promise<Account | undefined> {
    let account: AccountRow | undefined;
    try {
      account = await this.accounts.find(sub);
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw temporarilyUnavailable(err);
      throw err;
    }
    if (!account || account.status === 'closed') return undefined;
    const claims = accountClaims(account);
    return { accountId: account.id, claims: async () => claims as { sub: string } };
  }
}
