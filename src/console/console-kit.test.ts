import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { type OperatorRole, RoleForbidden } from '../access/operator-roles.js';
import { BadInput } from '../errors.js';
import type { ConsoleDeps } from './console-context.js';
import {
  act,
  adminActionsOf,
  assertRole,
  beijingTime,
  reasonOf,
  render,
  requestedBy,
} from './console-kit.js';

// What the console's shared kit decides for every page (三员分立, the audited reason, the menu),
// without a server. Everything is built inside each test (docs/mutation-testing.md).

const ROLES: OperatorRole[] = ['system', 'security', 'audit'];

/** Each console page and the one role that may open it. */
const OWNERS: [path: string, role: OperatorRole, title: string][] = [
  ['/console/stats', 'audit', '统计概览'],
  ['/console/audit', 'audit', '审计日志'],
  ['/console/sites', 'system', '接入网站'],
  ['/console/apis', 'system', 'API 资源服务'],
  ['/console/keys', 'system', '签名密钥'],
  ['/console/users', 'security', '用户管理'],
  ['/console/operators', 'security', '操作员'],
];

function context(role: OperatorRole, path: string, body: Record<string, unknown> = {}) {
  return {
    path,
    ip: '198.51.100.4',
    state: { consoleOperator: { accountId: 'op-1', role } },
    request: { body },
    headers: {} as Record<string, string>,
    get: (name: string) => (name.toLowerCase() === 'user-agent' ? 'Browser/2' : ''),
    set() {},
    accepts: () => 'html',
  } as unknown as Context;
}

function deps(drawn: { view: string; data: Record<string, unknown> }[]) {
  return {
    views: {
      render: (view: string, data: Record<string, unknown>) => {
        drawn.push({ view, data });
        return 'html';
      },
    },
    csrf: { token: () => 'token' },
  } as unknown as ConsoleDeps;
}

describe('console pages (三员分立)', () => {
  it.each(OWNERS)('%s and the pages below it open only for the %s role', (path, owner) => {
    for (const role of ROLES) {
      for (const asked of [path, `${path}/7/edit`]) {
        const open = () => assertRole(context(role, asked));
        if (role === owner) expect(open).not.toThrow();
        else expect(open).toThrow(RoleForbidden);
      }
    }
  });

  it('shows each role a menu of its own pages only, and marks the page it is on', () => {
    for (const role of ROLES) {
      const drawn: { view: string; data: Record<string, unknown> }[] = [];
      const own = OWNERS.filter(([, r]) => r === role);
      render(context(role, `${own[0]![0]}/3`), deps(drawn), 'page', { extra: 1 });
      expect(drawn).toHaveLength(1);
      expect(drawn[0]!.view).toBe('console/page');
      const data = drawn[0]!.data as { menu: { path: string; title: string }[]; current: string };
      expect(data.menu.map((p) => [p.path, p.title])).toEqual(own.map(([p, , title]) => [p, title]));
      expect(data.current).toBe(own[0]![0]);
      expect(data).toMatchObject({
        operator: { accountId: 'op-1', role },
        roleLabel: { system: '系统管理员', security: '安全管理员', audit: '审计管理员' }[role],
        extra: 1,
        csrf: 'token',
      });
    }
  });
});

describe('a console page outside the menu', () => {
  it('is drawn with no menu entry marked', () => {
    const drawn: { view: string; data: Record<string, unknown> }[] = [];
    render(context('audit', '/console/profile'), deps(drawn), 'profile', {});
    expect(drawn[0]!.data).toMatchObject({ current: undefined });
  });
});

describe('the reason every console change gives', () => {
  it.each([
    ['none', undefined],
    ['one character', '改'],
    ['one character between spaces', '  改  '],
    ['501 characters', '因'.repeat(501)],
  ])('is refused when it is %s', (_, reason) => {
    expect(() => reasonOf(context('security', '/console/users', { reason }))).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'reason_required',
        userMessage: '请填写操作原因（2至500字）',
      }),
    );
  });

  it.each([
    ['two characters', '核实', '核实'],
    ['500 characters', '因'.repeat(500), '因'.repeat(500)],
    ['spaces around it', '  核实身份 ', '核实身份'],
  ])('is taken when it is %s', (_, reason, kept) => {
    expect(reasonOf(context('security', '/console/users', { reason }))).toBe(kept);
  });

  it('is kept with the operator, the role and where the request came from', () => {
    expect(requestedBy(context('audit', '/console/audit', { reason: '例行检查' }))).toEqual({
      actor: 'operator:op-1',
      role: 'audit',
      reason: '例行检查',
      ip: '198.51.100.4',
      userAgent: 'Browser/2',
    });
  });
});

describe('a console change (act)', () => {
  it('shows the page again with what the change returned', async () => {
    const drawn: { view: string; data: Record<string, unknown> }[] = [];
    await act(
      context('system', '/console/keys'),
      deps(drawn),
      'keys',
      async () => ({ keys: ['k1'] }),
      async () => ({ notice: '已轮换' }),
    );
    expect(drawn.map((d) => d.data)).toEqual([expect.objectContaining({ keys: ['k1'], notice: '已轮换' })]);
  });

  it('shows the page again with the problem when the change is refused', async () => {
    const drawn: { view: string; data: Record<string, unknown> }[] = [];
    await act(
      context('system', '/console/keys'),
      deps(drawn),
      'keys',
      async () => ({ keys: ['k1'] }),
      async () => {
        throw new BadInput('请填写操作原因（2至500字）', 'reason_required');
      },
    );
    expect(drawn.map((d) => d.data)).toEqual([
      expect.objectContaining({ keys: ['k1'], error: '请填写操作原因（2至500字）' }),
    ]);
  });

  it('draws nothing when the change answered itself', async () => {
    const drawn: { view: string; data: Record<string, unknown> }[] = [];
    await act(
      context('system', '/console/keys'),
      deps(drawn),
      'keys',
      async () => ({}),
      async () => undefined,
    );
    expect(drawn).toEqual([]);
  });
});

describe('times in the console', () => {
  it('are Beijing time, to the second, and a dash when there is none', () => {
    expect(beijingTime(new Date('2026-12-06T16:05:09Z'))).toBe('2026/12/07 00:05:09');
    expect(beijingTime('2026-01-02T03:04:05.000Z')).toBe('2026/01/02 11:04:05');
    expect(beijingTime(null)).toBe('—');
    expect(beijingTime(undefined)).toBe('—');
  });
});

describe("the console's admin actions", () => {
  it('rotate the signing keys, have the provider serve the new ones at once, and audit who did it and why', async () => {
    const calls: string[] = [];
    const audited: Record<string, unknown>[] = [];
    const consoleDeps = {
      keys: {
        ensureKeys: async () => calls.push('ensure'),
        rotate: async () => {
          calls.push('rotate');
          return [{ kid: 'k2' }];
        },
      },
      host: { refresh: async () => calls.push('provider reloads its keys') },
      audit: { record: async (row: Record<string, unknown>) => audited.push(row) },
    } as unknown as ConsoleDeps;
    const by = requestedBy(context('system', '/console/keys', { reason: '定期轮换' }));
    expect(await adminActionsOf(consoleDeps).rotateKeys(by)).toEqual([{ kid: 'k2' }]);
    expect(calls).toEqual(['ensure', 'rotate', 'provider reloads its keys']);
    expect(audited).toEqual([
      expect.objectContaining({
        type: 'admin.keys_rotated',
        actor: 'operator:op-1',
        detail: { reason: '定期轮换' },
      }),
    ]);
  });

  it("lock an account through the console's services and end its sessions everywhere", async () => {
    const ended: string[] = [];
    const audited: Record<string, unknown>[] = [];
    const consoleDeps = {
      accounts: { setStatus: async (login: string, status: string) => ({ id: `id-of-${login}`, status }) },
      revoker: {
        revokeAll: async (accountId: string) => {
          ended.push(accountId);
          return 2;
        },
      },
      audit: { record: async (row: Record<string, unknown>) => audited.push(row) },
    } as unknown as ConsoleDeps;
    const by = requestedBy(context('security', '/console/users', { reason: '账号被盗' }));
    expect(await adminActionsOf(consoleDeps).lockAccount('13800000000', by)).toEqual({
      id: 'id-of-13800000000',
      status: 'locked',
    });
    expect(ended).toEqual(['id-of-13800000000']);
    expect(audited).toEqual([
      expect.objectContaining({
        type: 'admin.account_locked',
        accountId: 'id-of-13800000000',
        detail: { sessions: 2, reason: '账号被盗' },
      }),
    ]);
  });
});
