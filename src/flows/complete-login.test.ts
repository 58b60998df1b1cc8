import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { ACR } from '../access/scopes.js';
import type { AccountRow } from '../accounts/account-store.js';
import type { AuditEvent } from '../audit/audit-service.js';
import { DataProtector } from '../crypto/sealed.js';
import { Metrics } from '../ops/metrics.js';
import { FlowStates } from '../state/flow-state.js';
import type { FlowStateStore } from '../state/flow-state-store.js';
import { FactorTable } from './assurance.js';
import {
  completeLogin,
  continueTo,
  type LoginRecorder,
  recordLoginFailure,
  SECOND_FACTOR,
} from './complete-login.js';
import type { Interaction } from './interaction.js';

// The one door every sign-in goes through, without a server: what it hands oidc-provider, what it
// audits and counts, and when it asks for the TOTP code instead. Everything is built inside each
// test, never at collection (docs/mutation-testing.md).

const FACTORS = [
  { amr: 'pwd', kind: 'knowledge' },
  { amr: 'sms', kind: 'possession' },
  { amr: 'hwk', kind: 'certificate' },
  { amr: 'alipay', kind: 'outside' },
  SECOND_FACTOR,
] as const;

function account(overrides: Partial<AccountRow> = {}): AccountRow {
  return { id: 'acc-1', status: 'active', totp_enabled_at: null, ...overrides } as AccountRow;
}

function setUp(accounts: AccountRow[] = [account()], promptName = 'login') {
  const audited: AuditEvent[] = [];
  const flowRows = new Map<string, Record<string, unknown>>();
  const store = {
    put: async (id: string, data: Record<string, unknown>) => void flowRows.set(id, data),
    get: async (id: string) => flowRows.get(id),
  } as unknown as FlowStateStore;
  const metrics = new Metrics();
  const deps: LoginRecorder = {
    accounts: { find: async (id) => accounts.find((a) => a.id === id) },
    audit: { record: async (event) => void audited.push(event) },
    metrics,
    flowStates: new FlowStates(store, new DataProtector(Buffer.alloc(32, 1))),
    factors: new FactorTable(FACTORS),
  };
  const saved: { result?: Interaction['result'] } = {};
  const interaction = {
    uid: 'uid-1',
    prompt: { name: promptName },
    exp: Math.floor(Date.now() / 1000) + 600,
    returnTo: 'https://id.example/auth/uid-1',
  } as unknown as Interaction;
  interaction.save = async () => {
    saved.result = interaction.result;
    return '';
  };
  const ctx = {
    ip: '203.0.113.7',
    get: (name: string) => (name.toLowerCase() === 'user-agent' ? 'Browser/1.0' : ''),
  } as unknown as Context;
  const counted = async () =>
    (await metrics.logins.get()).values.map((v) => ({ ...v.labels, value: v.value }));
  return { deps, audited, flowRows, saved, interaction, ctx, counted };
}

describe('completeLogin', () => {
  it('hands oidc-provider the account with the acr and amr of what was verified, and audits the success', async () => {
    const { deps, audited, saved, interaction, ctx, counted } = setUp();
    const next = await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['pwd', 'sms'],
      method: 'password+sms',
    });
    expect(next).toBe('https://id.example/auth/uid-1');
    expect(saved.result).toEqual({
      login: { accountId: 'acc-1', acr: ACR.mfa, amr: ['pwd', 'sms', 'mfa'], remember: true },
    });
    expect(audited).toEqual([
      {
        type: 'login',
        method: 'password+sms',
        outcome: 'success',
        accountId: 'acc-1',
        ip: '203.0.113.7',
        userAgent: 'Browser/1.0',
      },
    ]);
    expect(await counted()).toEqual([{ method: 'password_sms', outcome: 'success', value: 1 }]);
  });

  it('keeps the detail a method gives in the audit row', async () => {
    const { deps, audited, interaction, ctx } = setUp();
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['hwk'],
      method: 'certificate',
      detail: { serial: '01AB' },
    });
    expect(audited[0]).toMatchObject({ type: 'login', detail: { serial: '01AB' } });
  });

  it.each(['locked', 'closed'] as const)(
    'refuses a %s account, saves no sign-in and audits the failure',
    async (status) => {
      const { deps, audited, saved, interaction, ctx, counted } = setUp([account({ status })]);
      await expect(
        completeLogin(deps, ctx, interaction, { accountId: 'acc-1', verified: ['pwd'], method: 'password' }),
      ).rejects.toMatchObject({ name: 'AccountUnavailable', status: 403 });
      expect(saved.result).toBeUndefined();
      expect(audited).toEqual([
        {
          type: 'login',
          method: 'password',
          outcome: 'failure',
          accountId: 'acc-1',
          ip: '203.0.113.7',
          userAgent: 'Browser/1.0',
          detail: { reason: `account_${status}` },
        },
      ]);
      expect(await counted()).toEqual([{ method: 'password', outcome: 'failure', value: 1 }]);
    },
  );

  it('refuses an account that no longer exists', async () => {
    const { deps, audited, saved, interaction, ctx } = setUp([]);
    await expect(
      completeLogin(deps, ctx, interaction, { accountId: 'gone', verified: ['sms'], method: 'sms' }),
    ).rejects.toMatchObject({ name: 'AccountUnavailable' });
    expect(saved.result).toBeUndefined();
    expect(audited[0]).toMatchObject({ outcome: 'failure', detail: { reason: 'account_missing' } });
  });

  it('reads the account again when the row a method passes is of another account', async () => {
    // A method's row is used only when it is the signed-in account's: another row, active or not,
    // can not stand in for a locked account.
    const { deps, saved, interaction, ctx } = setUp([account({ id: 'acc-1', status: 'locked' })]);
    await expect(
      completeLogin(deps, ctx, interaction, {
        accountId: 'acc-1',
        account: account({ id: 'acc-2' }),
        verified: ['pwd'],
        method: 'password',
      }),
    ).rejects.toMatchObject({ name: 'AccountUnavailable' });
    expect(saved.result).toBeUndefined();
  });

  it("uses the method's own row of the account when it is the same account", async () => {
    const { deps, saved, interaction, ctx } = setUp([]);
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      account: account(),
      verified: ['pwd'],
      method: 'password',
    });
    expect(saved.result).toMatchObject({ login: { accountId: 'acc-1', acr: ACR.basic } });
  });

  it.each([
    [['pwd'], 'password'],
    [['sms'], 'sms'],
    [['pwd', 'sms'], 'password+sms'],
    [['alipay'], 'alipay'],
  ] as const)(
    'asks for the TOTP code after %j when 两步验证 is on, and signs nobody in yet',
    async (verified, method) => {
      const { deps, audited, flowRows, saved, interaction, ctx, counted } = setUp([
        account({ totp_enabled_at: new Date() }),
      ]);
      const next = await completeLogin(deps, ctx, interaction, {
        accountId: 'acc-1',
        verified: [...verified],
        method,
      });
      expect(next).toBe('/interaction/uid-1/totp');
      expect(flowRows.get('totp:uid-1')).toEqual({
        accountId: 'acc-1',
        verified,
        method,
        stepUp: false,
      });
      expect(saved.result).toBeUndefined();
      expect(audited).toEqual([]);
      expect(await counted()).toEqual([]);
    },
  );

  it('keeps a step-up a step-up across the TOTP page', async () => {
    const { deps, flowRows, interaction, ctx } = setUp([account({ totp_enabled_at: new Date() })]);
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['sms'],
      method: 'sms',
      stepUp: true,
    });
    expect(flowRows.get('totp:uid-1')).toMatchObject({ stepUp: true });
  });

  it('signs in once the TOTP code is among the factors, at mfa', async () => {
    const { deps, saved, interaction, ctx } = setUp([account({ totp_enabled_at: new Date() })]);
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['pwd', 'otp'],
      method: 'password+otp',
    });
    expect(saved.result).toMatchObject({ login: { acr: ACR.mfa, amr: ['pwd', 'otp', 'mfa'] } });
  });

  it('does not ask for the TOTP code after a certificate', async () => {
    const { deps, flowRows, saved, interaction, ctx } = setUp([account({ totp_enabled_at: new Date() })]);
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['hwk'],
      method: 'certificate',
    });
    expect(flowRows.size).toBe(0);
    expect(saved.result).toMatchObject({ login: { acr: ACR.cert, amr: ['hwk'] } });
  });

  it('audits and counts a step-up as a step-up', async () => {
    const { deps, audited, interaction, ctx, counted } = setUp();
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['pwd', 'sms'],
      method: 'sms',
      stepUp: true,
    });
    expect(audited[0]).toMatchObject({ type: 'step_up', method: 'sms', outcome: 'success' });
    expect(await counted()).toEqual([{ method: 'step_up_sms', outcome: 'success', value: 1 }]);
  });

  it('answers prompt=select_account with the chosen account', async () => {
    const { deps, saved, interaction, ctx } = setUp([account()], 'select_account');
    await completeLogin(deps, ctx, interaction, {
      accountId: 'acc-1',
      verified: ['pwd'],
      method: 'password',
    });
    expect(saved.result).toEqual({
      login: { accountId: 'acc-1', acr: ACR.basic, amr: ['pwd'], remember: true },
      select_account: {},
    });
  });
});

describe('recordLoginFailure', () => {
  it('audits the reason with the detail, and counts the failure under a plain label', async () => {
    const { deps, audited, ctx, counted } = setUp();
    await recordLoginFailure(deps, ctx, {
      method: 'alipay+sms',
      accountId: 'acc-1',
      reason: 'wrong_code',
      detail: { attempts: 3 },
    });
    expect(audited).toEqual([
      {
        type: 'login',
        method: 'alipay+sms',
        outcome: 'failure',
        accountId: 'acc-1',
        ip: '203.0.113.7',
        userAgent: 'Browser/1.0',
        detail: { reason: 'wrong_code', attempts: 3 },
      },
    ]);
    expect(await counted()).toEqual([{ method: 'alipay_sms', outcome: 'failure', value: 1 }]);
  });

  it('writes no detail when there is none', async () => {
    const { deps, audited, ctx } = setUp();
    await recordLoginFailure(deps, ctx, { method: 'password', accountId: undefined });
    expect(audited).toEqual([
      {
        type: 'login',
        method: 'password',
        outcome: 'failure',
        accountId: undefined,
        ip: '203.0.113.7',
        userAgent: 'Browser/1.0',
      },
    ]);
  });
});

describe('continueTo', () => {
  it('answers a form post with 303 to where the sign-in goes on', () => {
    const answer: { location?: string; status?: number } = {};
    const ctx = {
      redirect(url: string) {
        answer.location = url;
        answer.status = 302;
      },
      set status(value: number) {
        answer.status = value;
      },
    } as unknown as Context;
    continueTo(ctx, '/auth/uid-1');
    expect(answer).toEqual({ location: '/auth/uid-1', status: 303 });
  });
});
