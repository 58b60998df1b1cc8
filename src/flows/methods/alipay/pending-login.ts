import { z } from 'zod';
import type { AlipayProfile } from '../../../federation/alipay-link-service.js';
import { declareFlowState, type FlowStateOf } from '../../../state/flow-state.js';

const alipayProfile = z.object({
  subject: z.object({ kind: z.enum(['user_id', 'open_id']), id: z.string() }),
  identity: z.object({ realName: z.string(), idNumber: z.string() }).optional(),
  mobile: z.string().optional(),
}) satisfies z.ZodType<AlipayProfile>;

/**
 * A 支付宝登录 waiting for the person, under its interaction: a phone for a new account
 * (支付宝关联注册), or signing in to the account that holds the ID number (关联已有账号). Sealed:
 * Alipay's name and ID number are inside.
 */
export const ALIPAY_PENDING = declareFlowState('alipay-pending', {
  ttlSeconds: 600,
  sealed: true,
  schema: z.discriminatedUnion('mode', [
    z.object({ mode: z.literal('register'), profile: alipayProfile }),
    z.object({ mode: z.literal('link'), profile: alipayProfile, accountId: z.string() }),
  ]),
});

export type PendingAlipayLogin = FlowStateOf<typeof ALIPAY_PENDING>;
