import { describe, expect, it } from 'vitest';
import { isOperatorRole, roleForApiPath } from './operator-roles.js';

// 三员分立 as the server decides it: which role owns a path of the admin API or the console.
describe('operator roles', () => {
  it('gives each part of the admin API to one role, and its sub-paths with it', () => {
    expect(roleForApiPath('/admin/api/clients')).toBe('system');
    expect(roleForApiPath('/admin/api/clients/abc/secret')).toBe('system');
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
});
