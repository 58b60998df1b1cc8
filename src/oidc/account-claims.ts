import type { Context } from 'koa';
import type { Account } from 'oidc-provider';
import type { Identity } from '../accounts/account-service.js';
import type { AccountRow } from '../accounts/account-store.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { temporarilyUnavailable } from './protocol-errors.js';

export interface AccountLookup {
  find(id: string): Promise<AccountRow | undefined>;
  identityOf(account: AccountRow): Identity | undefined;
}

/** The enterprise claims of a legal person (enterprise scope). */
export interface EnterpriseLookup {
  enterpriseOf(accountId: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * Claims a relying party may receive, computed from the account as it is now (levels change);
 * oidc-provider releases only those of the scopes the site was granted.
 */
export function accountClaims(account: AccountRow, identity: Identity | undefined): Record<string, unknown> {
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
  if (identity) {
    claims['name'] = identity.realName;
    claims['id_number'] = identity.idNumber;
    claims['id_type'] = identity.idType;
  }
  return claims;
}

/** The account row read in the same statement as the token being used, when there is one. */
export interface TokenAccountRows {
  takeAccount(id: string): Promise<AccountRow | undefined> | undefined;
}

export class AccountClaimsSource {
  constructor(
    private readonly accounts: AccountLookup,
    private readonly enterprises: EnterpriseLookup,
    private readonly withToken: TokenAccountRows,
  ) {}

  async level(accountId: string): Promise<string | undefined> {
    return (await this.accounts.find(accountId))?.certification_level;
  }

  async findAccount(_ctx: Context, sub: string): Promise<Account | undefined> {
    let account: AccountRow | undefined;
    try {
      const readWithToken = this.withToken.takeAccount(sub);
      account = readWithToken ? await readWithToken : await this.accounts.find(sub);
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw temporarilyUnavailable(err);
      throw err;
    }
    if (!account || account.status === 'closed') return undefined;
    const found = account;
    return {
      accountId: found.id,
      // Opened only when a token or userinfo is actually built.
      claims: async () => {
        if (found.user_type === 'legal_person') {
          return {
            ...accountClaims(found, undefined),
            ...(await this.enterprises.enterpriseOf(found.id)),
          } as { sub: string };
        }
        return accountClaims(found, this.accounts.identityOf(found)) as { sub: string };
      },
    };
  }
}
