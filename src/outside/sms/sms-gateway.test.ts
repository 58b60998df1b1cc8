import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { SMS_TEMPLATE_VERIFICATION_CODE, SmsSendFailed, smsText } from './sms-gateway.js';

describe('the verification SMS', () => {
  it('says exactly what README.md shows, with the code in place', () => {
    expect(smsText('123456')).toBe(
      '【统一身份认证】您的验证码为123456，5分钟内有效。如非本人操作，请忽略本短信。',
    );
    expect(smsText('000042')).toBe(
      '【统一身份认证】您的验证码为000042，5分钟内有效。如非本人操作，请忽略本短信。',
    );
  });

  it('uses the verification-code template', () => {
    expect(SMS_TEMPLATE_VERIFICATION_CODE).toBe('UNIFIED_ID_VERIFICATION_CODE');
  });
});

describe('SmsSendFailed', () => {
  it('is a 502 AppError with a Chinese message and the detail kept for the log', () => {
    const error = new SmsSendFailed('gateway answered HTTP 503', { reason: 'http_status' });
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      status: 502,
      code: 'sms_send_failed',
      userMessage: '短信发送失败，请稍后重试',
      reason: 'http_status',
    });
    expect(error.message).toBe('gateway answered HTTP 503');
  });
});
