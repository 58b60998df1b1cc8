import { isOperatorRole, ROLE_LABELS } from '../access/operator-roles.js';
import { actorName } from '../audit/audit-words.js';
import type { ConsoleDeps } from './console-context.js';
import { beijingTime } from './console-kit.js';

/** Grants and removals of operator roles: the types the operator service writes for each. */
const ROLE_CHANGES = { 'admin.operator_added': '授予', 'admin.operator_removed': '移除' } as const;

/** How many of the newest role changes the 审计管理员's 概览 shows. */
const SHOWN = 20;

/**
 * The newest operator role changes, read from the audit log itself (not the operators table),
 * so a change shows here exactly as it is kept in the chain, whoever made it and however.
 */
export async function recentRoleChanges(deps: Pick<ConsoleDeps, 'audit' | 'accounts'>) {
  const rows = (
    await Promise.all(Object.keys(ROLE_CHANGES).map((type) => deps.audit.query({ type, limit: SHOWN })))
  )
    .flat()
    .sort((a, b) => Number(b.id) - Number(a.id))
    .slice(0, SHOWN);
  const phoneOf = async (accountId: string | null | undefined) => {
    const account = accountId ? await deps.accounts.find(accountId) : undefined;
    return account ? (deps.accounts.view(account).phoneMasked ?? accountId) : (accountId ?? '—');
  };
  return Promise.all(
    rows.map(async (r) => {
      const role = r.detail['role'];
      const byOperator = /^operator:(.+)$/.exec(r.actor)?.[1];
      return {
        at: beijingTime(r.occurred_at),
        change: `${ROLE_CHANGES[r.type as keyof typeof ROLE_CHANGES]}${isOperatorRole(role) ? ROLE_LABELS[role] : ''}`,
        account: await phoneOf(r.account_id),
        by: byOperator ? await phoneOf(byOperator) : actorName(r.actor),
        reason: typeof r.detail['reason'] === 'string' ? r.detail['reason'] : '—',
      };
    }),
  );
}
