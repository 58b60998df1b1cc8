import { AppError } from '../../errors.js';

/**
 * The template the gateway operator registered for verification codes; its one parameter is
 * `code`, and it renders exactly as `smsText` does.
 */
export const SMS_TEMPLATE_VERIFICATION_CODE = 'UNIFIED_ID_VERIFICATION_CODE';

/** The text every verification SMS carries (README.md, The SMS gateway and identity verification wire format); the development outbox shows the same. */
export function smsText(code: string): string {
  return `【统一身份认证】您的验证码为${code}，5分钟内有效。如非本人操作，请忽略本短信。`;
}

export interface SmsMessage {
  /** E.164, `+86…`. */
  phone: string;
  templateId: string;
  params: Record<string, string>;
  /** The rendered text: what the development outbox shows; the real gateway renders its template. */
  text: string;
}

export interface SmsGateway {
  /** Pages and /dev/ routes show development helpers only for the development implementation. */
  readonly kind: 'dev' | 'http';
  /** Resolves once the gateway has accepted the message; throws SmsSendFailed otherwise. */
  send(message: SmsMessage): Promise<void>;
}

export type SmsFailureReason =
  | 'timeout'
  | 'unreachable'
  | 'http_status'
  | 'bad_answer'
  /** The gateway answered, and its answer was not `{"code": "OK"}`. */
  | 'refused'
  /** We did not send it: the message itself is not sendable (a bug in the caller). */
  | 'invalid_message';

/** Any failure to hand a message to the gateway. The person may ask for a new code. */
export class SmsSendFailed extends AppError {
  override name = 'SmsSendFailed';
  readonly reason: SmsFailureReason | undefined;

  constructor(detail: string, options: { reason?: SmsFailureReason; cause?: unknown } = {}) {
    super(502, 'sms_send_failed', '短信发送失败，请稍后重试', { detail, cause: options.cause });
    this.reason = options.reason;
  }
}

/**
 * The template for a legal representative's confirmation at 法人注册; parameters `code` and
 * `creditCode`. It names the enterprise by its credit code only (checked characters), never by
 * the typed name, so a registrant can not put words of their own into a stranger's SMS.
 */
export const SMS_TEMPLATE_REPRESENTATIVE_CONFIRMATION = 'UNIFIED_ID_LEGAL_REPRESENTATIVE_CODE';

export function representativeConfirmationText(code: string, creditCode: string): string {
  return `【统一身份认证】统一社会信用代码为${creditCode}的单位正在注册法人账号，填写的法定代表人是您。确认请输入验证码${code}，5分钟内有效。如非本人操作，请勿将验证码告知他人。`;
}
