import type { AlipaySdk } from 'alipay-sdk';

/**
 * Reading a gateway answer through Alipay's SDK. The SDK checks the signature on the
 * text it cuts out of the body between the response node's name and the last `sign`;
 * the node is then parsed from exactly that text, never from the body as a whole: a
 * body that carries the node twice parses to the last one, which need not be the one
 * the signature covers.
 */

export type AnswerFailure =
  /** The body, or the signed node, is not a JSON object. */
  | 'malformed'
  /** Neither `<method>_response` nor `error_response` is in the body. */
  | 'missing_node'
  | 'missing_sign'
  | 'bad_signature';

export type VerifiedAnswer =
  | {
      ok: true;
      /** The response node, parsed from exactly the text the signature covers. */
      node: Record<string, unknown>;
      /** `alipay_system_oauth_token_response`, or `error_response`. */
      nodeName: string;
    }
  | { ok: false; reason: AnswerFailure };

/** The name of a method's response node: `alipay.user.info.share` → `alipay_user_info_share_response`. */
export function responseNodeName(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/** Checks Alipay's signature on a gateway answer (Alipay's key or certificate, as the SDK holds it). */
export function verifyAnswer(sdk: AlipaySdk, body: string, method: string): VerifiedAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isPlainObject(parsed)) return { ok: false, reason: 'malformed' };
  const nodeName = [responseNodeName(method), 'error_response'].find((name) => Object.hasOwn(parsed, name));
  if (!nodeName) return { ok: false, reason: 'missing_node' };
  const signature = parsed['sign'];
  if (typeof signature !== 'string' || signature.trim() === '') return { ok: false, reason: 'missing_sign' };
  try {
    sdk.checkResponseSign(body, nodeName, signature, '');
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
  let node: unknown;
  try {
    node = JSON.parse(sdk.getSignStr(body, nodeName));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isPlainObject(node)) return { ok: false, reason: 'malformed' };
  return { ok: true, node, nodeName };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
