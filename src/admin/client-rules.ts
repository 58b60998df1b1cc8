import { type OperatorRole, ROLE_LABELS } from '../access/operator-roles.js';
import type { ClientInput, ClientSummary } from '../clients/client-service.js';
import { AppError } from '../errors.js';

/** What these rules read of a requester (admin-actions.ts's Requester). */
interface Requester {
  actor: string;
  role?: OperatorRole | undefined;
}

/**
 * 三员分立 over clients: an admin-scope client is a way into the admin API, so whoever could
 * register or re-key one for another role would hold that role's powers. Refused with 403.
 */
export class ClientRoleRefused extends AppError {
  override name = 'ClientRoleRefused';
  constructor(code: 'admin_scope_cli_only' | 'role_forbidden', message: string) {
    super(403, code, message);
  }
}

const holdsAdmin = (scopes: readonly string[] | string | undefined) =>
  (typeof scopes === 'string' ? scopes.split(' ') : (scopes ?? [])).includes('admin');

/** The command line runs on the server itself: whoever runs it already holds every power there. */
const onServer = (by: Requester) => by.actor === 'cli';

/**
 * Whether `by` may register `input` (or change a client into it). A site (a sign-in client) never
 * gets the `admin` scope except from the command line; a machine client with the `admin` scope
 * is registered only for the requester's own role.
 */
export function assertMayRegister(input: ClientInput, by: Requester) {
  if (onServer(by) || !holdsAdmin(input.scopes)) return;
  const grants = input.grantTypes ?? [];
  if (grants.length !== 1 || grants[0] !== 'client_credentials')
    throw new ClientRoleRefused(
      'admin_scope_cli_only',
      '管理接口权限（admin）只能由服务器上的命令行授予网站（unified-id clients add）',
    );
  if (!by.role || input.adminRole !== by.role)
    throw new ClientRoleRefused(
      'role_forbidden',
      by.role
        ? `只能为本人角色（${ROLE_LABELS[by.role]}）登记管理接口的自动化客户端（三员分立）`
        : '管理接口的自动化客户端只能由操作员为本人角色登记（三员分立）',
    );
}

/**
 * Whether `by` may disable, enable, re-key, edit or remove `client`. A client holding the
 * `admin` scope is another way into the admin API: only a machine client of the requester's own
 * role may be changed here (and never edited, which would drop what the form does not show);
 * admin sites, the console among them, only from the command line.
 */
export function assertMayChange(client: ClientSummary, by: Requester, kind: 'edit' | 'other') {
  if (onServer(by) || !holdsAdmin(client.scope)) return;
  if (kind === 'edit' || !client.admin_role)
    throw new ClientRoleRefused(
      'admin_scope_cli_only',
      '持有管理接口权限（admin）的网站只能在服务器上用命令行更改（unified-id clients）',
    );
  if (client.admin_role !== by.role)
    throw new ClientRoleRefused(
      'role_forbidden',
      `此自动化客户端属于${ROLE_LABELS[client.admin_role]}，只有该角色可以更改（三员分立）`,
    );
}
