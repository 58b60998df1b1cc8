import { describe, expect, it } from 'vitest';
import { isOperatorRole, RoleForbidden, roleForApiPath } from './operator-roles.js';

// 三员分立 as the server decides it: which role owns a path of the admin API or the console.
describe('operator roles', () => {
  it('gives each part of the admin API to one role, and its sub-paths with it', () => {
    expect(roleForApiPath('/admin/api/clients')).toBe('system');
    expect(roleForApiPath('/admin/api/clients/abc/secret')).toBe('system');
    expect(roleForApiPath('/admin/api/resources/urn:api:files')).toBe('system');
    expect(roleForApiPath('/admin/api/keys/rotate')).toBe('system');
    expect(roleForApiPath('/admin/api/accounts/1/lock')).toBe('security');
    expect(roleForApiPath('/admin/api/operators')).toBe('security');
    expect(roleForApiPath('/admin/api/audit/export')).toBe('audit');
    expect(roleForApiPath('/admin/api/stats')).toBe('audit');
  });

  it('refuses to everyone a path no role was given, a look-alike prefix included', () => {
    expect(roleForApiPath('/admin/api/clientsX')).toBeUndefined();
    expect(roleForApiPath('/admin/api/auditing')).toBeUndefined();
    expect(roleForApiPath('/admin/api/new-thing')).toBeUndefined();
    expect(roleForApiPath('/admin/api')).toBeUndefined();
  });

  it('knows only the three roles', () => {
    expect(['system', 'security', 'audit'].every(isOperatorRole)).toBe(true);
    for (const value of ['admin', 'System', '', undefined, null, 1])
      expect(isOperatorRole(value)).toBe(false);
  });

  it('refuses another role with 403, naming the role that owns the page and the one the operator has', () => {
    const owned = new RoleForbidden('audit', 'system');
    expect([owned.status, owned.code, owned.name]).toEqual([403, 'role_forbidden', 'RoleForbidden']);
    expect(owned.message).toContain('无权访问：此功能属于系统管理员，您的角色是审计管理员（三员分立）');
    expect(new RoleForbidden('system', 'security').message).toContain(
      '此功能属于安全管理员，您的角色是系统管理员',
    );
    const ownerless = new RoleForbidden('security', undefined);
    expect(ownerless.status).toBe(403);
    expect(ownerless.message).toContain('无权访问：此功能不对安全管理员开放（三员分立）');
  });
});
