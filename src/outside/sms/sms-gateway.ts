import { AppError } from '../../errors.js';

export const SMS_TEMPLATE_VERIFICATION_CODE = 'UNIFIED_ID_VERIFICATION_CODE';

/** The text every verification SMS carries; the development outbox shows the same. */
export function smsText(code: string): string {
  return `【统一身份认证】您的验证码为${code}，5分钟内有效。如非本人操作，请忽略本短信。`;
}

export interface SmsMessage {
  /** E.164, +86… */
  phone: string;
  templateId: string;
  params: Record<string, string>;
  text: string;
}

export interface SmsGateway {
  readonly kind: 'dev' | 'http';
  send(message: SmsMessage): Promise<void>;
}

export class SmsSendFailed extends AppError {
  override name = 'SmsSendFailed';
  constructor(detail: string) {
    super(502, 'sms_send_failed', '短信发送失败，请稍后重试', { detail });
  }
}
