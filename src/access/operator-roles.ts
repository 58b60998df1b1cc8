import { AppError } from '../errors.js';

/** 三员分立: every operator holds exactly one of these. */
export const OPERATOR_ROLES = ['system', 'security', 'audit'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export const ROLE_LABELS: Record<OperatorRole, string> = {
  system: '系统管理员',
  security: '安全管理员',
  audit: '审计管理员',
};

export function isOperatorRole(value: unknown): value is OperatorRole {
  return OPERATOR_ROLES.includes(value as OperatorRole);
}

/**
 * Which role owns each part of the admin API, for people and machine clients alike. A path not
 * listed here is refused to everyone: a new endpoint is given to a role on purpose, never by
 * accident.
 */
const API_ROLES: [prefix: string, role: OperatorRole][] = [
  ['/admin/api/clients', 'system'],
  ['/admin/api/resources', 'system'],
  ['/admin/api/keys', 'system'],
  ['/admin/api/accounts', 'security'],
  ['/admin/api/operators', 'security'],
  ['/admin/api/audit', 'audit'],
  ['/admin/api/stats', 'audit'],
];

export function roleForApiPath(path: string): OperatorRole | undefined {
  return API_ROLES.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1];
}

/** An operator or machine client asked for what another role owns: 403 with the roles named, in the API and the console alike. */
export class RoleForbidden extends AppError {
  override name = 'RoleForbidden';
  constructor(have: OperatorRole, needed: OperatorRole | undefined) {
    super(
      403,
      'role_forbidden',
      needed
        ? `无权访问：此功能属于${ROLE_LABELS[needed]}，您的角色是${ROLE_LABELS[have]}（三员分立）`
        : `无权访问：此功能不对${ROLE_LABELS[have]}开放（三员分立）`,
    );
  }
}
