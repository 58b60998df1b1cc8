import { describe, expect, it } from 'vitest';
import { type OperatorRole, RoleForbidden } from '../access/operator-roles.js';
import { assertRole, homeOf, pageOf } from './console-kit.js';

// The console's pages as the server guards them (三员分立), whatever the menu shows.
describe('console pages and roles', () => {
  it('refuses a console page of another role, and one that belongs to none', () => {
    const asRole = (role: OperatorRole, path: string) => () =>
      assertRole({ path, state: { consoleOperator: { role } } } as never);
    expect(asRole('system', '/console/sites/3/edit')).not.toThrow();
    expect(asRole('audit', '/console/sites/3/edit')).toThrow(RoleForbidden);
    expect(asRole('security', '/console/audit')).toThrow(RoleForbidden);
    expect(asRole('system', '/console/sitesX')).toThrow(RoleForbidden);
    expect(asRole('audit', '/console/unknown')).toThrow(RoleForbidden);
    expect(pageOf('/console/keysX')).toBeUndefined();
  });

  it('sends each role home to a page of its own', () => {
    for (const role of ['system', 'security', 'audit'] as const)
      expect(pageOf(homeOf(role))?.role).toBe(role);
  });
});
