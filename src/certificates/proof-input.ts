import type { Context } from 'koa';
import { z } from 'zod';
import { BadInput } from '../errors.js';
import type { PossessionProof } from './certificate-service.js';

// No `source`: where the page says it signed decides nothing (HardwareKeyPolicy reads the
// certificate). zod drops the field when an older page still sends it.
const proofSchema = z.object({
  nonce: z.string().min(10).max(100),
  chain: z.array(z.string().min(1).max(20_000)).min(1).max(8),
  signature: z.string().min(1).max(2_000),
  algorithm: z.string().min(1).max(40),
});

/** The signed challenge the certificate page posts (from the bridge or a PKCS#12 file). */
export function proofOf(ctx: Context): PossessionProof {
  const parsed = proofSchema.safeParse(ctx.request.body);
  if (!parsed.success) throw new BadInput('证书签名数据不完整');
  return parsed.data;
}
