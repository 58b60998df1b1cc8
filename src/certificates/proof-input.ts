import type { Context } from 'koa';
import { z } from 'zod';
import { BadInput } from '../errors.js';

const proofSchema = z.object({
  nonce: z.string().min(10).max(100),
  chain: z.array(z.string().min(1).max(20_000)).min(1).max(8),
  signature: z.string().min(1).max(2_000),
  algorithm: z.string().min(1).max(40),
  source: z.enum(['bridge', 'software']).default('bridge'),
});

/** The signed challenge the certificate page posts (from the bridge or a PKCS#12 file). */
export function proofOf(ctx: Context, softwareAllowed: boolean) {
  const parsed = proofSchema.safeParse(ctx.request.body);
  if (!parsed.success) throw new BadInput('证书签名数据不完整');
  if (parsed.data.source === 'software' && !softwareAllowed)
    throw new BadInput('本平台不接受证书文件登录，请使用 USB Key');
  return parsed.data;
}
