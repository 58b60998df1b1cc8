import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryFlowStateStore as memoryStore } from '../../test/support/memory-flow-states.js';
import { DataProtector } from '../crypto/sealed.js';
import { declareFlowState, FlowStates } from './flow-state.js';

describe('typed flow state', () => {
  const protector = new DataProtector(Buffer.alloc(32, 7));

  it('keeps each kind under its prefix with its lifetime, and reads back what was written', async () => {
    const { rows, store } = memoryStore();
    const states = new FlowStates(store, protector);
    await states.put('totp', 'uid-1', {
      accountId: 'a1',
      verified: ['pwd'],
      method: 'password',
      stepUp: false,
    });
    expect(rows.get('totp:uid-1')?.ttl).toBe(600);
    expect(await states.get('totp', 'uid-1')).toEqual({
      accountId: 'a1',
      verified: ['pwd'],
      method: 'password',
      stepUp: false,
    });
    expect(await states.take('totp', 'uid-1')).toBeDefined();
    expect(await states.get('totp', 'uid-1')).toBeUndefined();
  });

  it('seals the kinds that carry secrets, bound to their key, so a row moved to another key does not open', async () => {
    const { rows, store } = memoryStore();
    const states = new FlowStates(store, protector);
    await states.put('totp-enrol', 'account-1', { secret: 'JBSWY3DPEHPK3PXP' });
    expect(JSON.stringify(rows.get('totp-enrol:account-1')?.data)).not.toContain('JBSWY3DPEHPK3PXP');
    expect(await states.get('totp-enrol', 'account-1')).toEqual({ secret: 'JBSWY3DPEHPK3PXP' });
    rows.set('totp-enrol:account-2', rows.get('totp-enrol:account-1')!);
    expect(await states.get('totp-enrol', 'account-2')).toBeUndefined();
  });

  it('treats a row that does not match its schema as absent, never casts it', async () => {
    const { rows, store } = memoryStore();
    const states = new FlowStates(store, protector);
    rows.set('register:uid-2', { data: { accountId: 42 }, ttl: 3600 });
    expect(await states.get('register', 'uid-2')).toBeUndefined();
    await expect(states.put('register', 'uid-3', { accountId: '' })).rejects.toThrow();
  });

  it('keeps a kind a sign-in method declares, typed by its schema, only once declared, under a name no other kind has', async () => {
    const { rows, store } = memoryStore();
    const states = new FlowStates(store, protector);
    const pending = declareFlowState('method-pending', {
      ttlSeconds: 90,
      sealed: true,
      schema: z.object({ phone: z.string() }),
    });
    await expect(states.put(pending, 'uid-4', { phone: '+8613800138000' })).rejects.toThrow(/not declared/);
    expect(rows.size).toBe(0);

    states.declare([pending]);
    states.declare([pending]);
    await states.put(pending, 'uid-4', { phone: '+8613800138000' });
    expect(rows.get('method-pending:uid-4')?.ttl).toBe(90);
    expect(JSON.stringify(rows.get('method-pending:uid-4')?.data)).not.toContain('138');
    const read: { phone: string } | undefined = await states.take(pending, 'uid-4');
    expect(read).toEqual({ phone: '+8613800138000' });
    // @ts-expect-error the data is typed by the declared schema
    await expect(states.put(pending, 'uid-5', { phone: 42 })).rejects.toThrow();

    const lookalike = declareFlowState('method-pending', {
      ttlSeconds: 90,
      sealed: false,
      schema: z.object({}),
    });
    expect(() => states.declare([lookalike])).toThrow(/declared twice/);
    const central = declareFlowState('totp', { ttlSeconds: 90, sealed: false, schema: z.object({}) });
    expect(() => states.declare([central])).toThrow(/declared twice/);
  });
});
