import { randomInt } from 'node:crypto';
import type { DataProtector } from '../crypto/sealed.js';
import { SmsCodeWrong, TooManyRequests } from '../errors.js';
import type { RateLimiter } from '../ops/rate-limiter.js';
import {
  SMS_TEMPLATE_VERIFICATION_CODE,
  type SmsGateway,
  type SmsMessage,
  smsText,
} from '../outside/sms/sms-gateway.js';
import type { SmsCodeStore } from './sms-code-store.js';

/** What a code may be used for: a registration code can not reset a password. */
export type SmsPurpose =
  | 'register'
  | 'login'
  | 'reset_password'
  | 'step_up'
  | 'account'
  /** 法人注册: the representative's confirmation, sent to their own real-name account's phone. */
  | 'legal_representative';

/** A message other than the plain verification-code text, built around the fresh code. */
export type SmsCodeMessage = (code: string) => Pick<SmsMessage, 'templateId' | 'params' | 'text'>;

export const SMS_RULES = {
  ttlSeconds: 5 * 60,
  resendAfterSeconds: 60,
  maxWrongEntries: 5,
  perPhonePerDay: { name: 'sms:phone', max: 10, windowSeconds: 24 * 3600 },
  perIpPerHour: { name: 'sms:ip', max: 30, windowSeconds: 3600 },
} as const;

/** SMS verification codes (短信验证码): 6 digits, hashed at rest, limited, purpose-bound. */
export class SmsCodeService {
  constructor(
    private readonly store: SmsCodeStore,
    private readonly gateway: SmsGateway,
    private readonly limiter: RateLimiter,
    private readonly protector: DataProtector,
  ) {}

  /** Sends a fresh code; when the gateway fails, nothing is left behind and SmsSendFailed is thrown. */
  async send(input: {
    phone: string;
    purpose: SmsPurpose;
    ip: string;
    /** Says what the code is for, when the plain text would not (a representative's confirmation). */
    message?: SmsCodeMessage;
    /** Ties the code to one piece of work (a registration): verify must name the same. */
    binding?: string;
  }): Promise<{ resendAfterSeconds: number }> {
    const last = await this.store.latest(input.phone, input.purpose);
    if (last) {
      const wait = Math.ceil(
        (new Date(last.created_at).getTime() + SMS_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000,
      );
      if (wait > 0) throw new TooManyRequests(`请在${wait}秒后重新获取验证码`, wait);
    }
    await this.limiter.consume(SMS_RULES.perIpPerHour, input.ip);
    await this.limiter.consume(SMS_RULES.perPhonePerDay, input.phone).catch((err) => {
      throw err instanceof TooManyRequests
        ? new TooManyRequests('该手机号今日获取验证码次数已达上限，请明天再试')
        : err;
    });
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const id = await this.store.insert({
      phone: input.phone,
      purpose: input.purpose,
      code_hash: this.hash(input.phone, input.purpose, code, input.binding),
      expires_at: new Date(Date.now() + SMS_RULES.ttlSeconds * 1000),
      ip: input.ip,
    });
    try {
      await this.gateway.send({
        phone: input.phone,
        ...(input.message?.(code) ?? {
          templateId: SMS_TEMPLATE_VERIFICATION_CODE,
          params: { code },
          text: smsText(code),
        }),
      });
    } catch (err) {
      await this.store.remove(id);
      throw err;
    }
    return { resendAfterSeconds: SMS_RULES.resendAfterSeconds };
  }

  /** Accepts the newest unexpired code for this phone and purpose once; five wrong entries spend it. */
  async verify(input: { phone: string; purpose: SmsPurpose; code: string; binding?: string }): Promise<void> {
    const row = await this.store.latest(input.phone, input.purpose);
    const usable =
      row &&
      !row.consumed_at &&
      new Date(row.expires_at).getTime() > Date.now() &&
      row.attempts < SMS_RULES.maxWrongEntries;
    if (!row || !usable) throw new SmsCodeWrong();
    if (
      !/^\d{6}$/.test(input.code) ||
      this.hash(input.phone, input.purpose, input.code, input.binding) !== row.code_hash
    ) {
      await this.store.countAttempt(row.id);
      throw new SmsCodeWrong();
    }
    if (!(await this.store.consume(row.id))) throw new SmsCodeWrong();
  }

  private hash(phone: string, purpose: string, code: string, binding?: string): string {
    return this.protector.blindIndex('sms', `${phone}|${purpose}|${code}${binding ? `|${binding}` : ''}`);
  }
}
