import { randomInt } from 'node:crypto';
import type { DataProtector } from '../crypto/sealed.js';
import { ResendTooSoon, SmsCodeExpired, SmsCodeWrong, TooManyRequests } from '../errors.js';
import type { Limit, RateLimiter } from '../ops/rate-limiter.js';
import {
  SMS_TEMPLATE_VERIFICATION_CODE,
  type SmsGateway,
  type SmsMessage,
  smsText,
} from '../outside/sms/sms-gateway.js';
import { noticeMessage, SMS_NOTICES, type SmsNotice } from '../outside/sms/sms-notices.js';
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
  /** Code entries from one address, over every phone and purpose; `max` is SMS_CHECKS_PER_IP_PER_HOUR. */
  checksPerIpPerHour: { name: 'sms-check:ip', max: 100, windowSeconds: 3600 },
} as const;

export interface SmsCodeOptions {
  /** Whether a phone (E.164) belongs to an account: decides what the account-holder sends deliver. */
  phoneRegistered: (phone: string) => Promise<boolean>;
  /** SMS_CHECKS_PER_IP_PER_HOUR. */
  checksPerIpPerHour?: number;
  /** ACCOUNT_PHONE_CODES_PER_DAY: codes a signed-in account may send to numbers not yet its own. */
  newPhoneCodesPerAccountPerDay?: number;
}

/** A code as entered: `ip` is the entering address; `binding` as the send named it. */
export interface SmsCodeEntry {
  phone: string;
  purpose: SmsPurpose;
  code: string;
  ip: string;
  binding?: string;
}

/** What a send hands the gateway: the code, a notice instead of it, or nothing at all. */
type Delivery =
  | { kind: 'code'; message?: SmsCodeMessage }
  | { kind: 'notice'; notice: SmsNotice }
  | { kind: 'nothing' };

/** SMS verification codes (短信验证码): 6 digits, hashed at rest, limited, purpose-bound. */
export class SmsCodeService {
  readonly #checksPerIp: Limit;
  readonly #newPhonePerAccount: Limit;

  constructor(
    private readonly store: SmsCodeStore,
    private readonly gateway: SmsGateway,
    private readonly limiter: RateLimiter,
    private readonly protector: DataProtector,
    private readonly options: SmsCodeOptions,
  ) {
    this.#checksPerIp = {
      ...SMS_RULES.checksPerIpPerHour,
      max: options.checksPerIpPerHour ?? SMS_RULES.checksPerIpPerHour.max,
    };
    this.#newPhonePerAccount = {
      name: 'sms-new-phone:account',
      max: options.newPhoneCodesPerAccountPerDay ?? 5,
      windowSeconds: 24 * 3600,
    };
  }

  /** Sends a fresh code; when the gateway fails, nothing is left behind and SmsSendFailed is thrown. */
  send(input: {
    phone: string;
    purpose: SmsPurpose;
    ip: string;
    /** Says what the code is for, when the plain text would not (a representative's confirmation). */
    message?: SmsCodeMessage;
    /** Ties the code to one piece of work (a registration): verify must name the same. */
    binding?: string;
    /**
     * False: wait, count and store as for a send, but deliver nothing. For a flow that must not
     * tell whether there was anyone to send to; `phone` is then a stand-in key (see
     * sendToAccountHolder) that no entry can ever match a told code for.
     */
    deliver?: boolean;
  }): Promise<{ resendAfterSeconds: number }> {
    const { message, deliver = true, ...rest } = input;
    if (!deliver) return this.#send(rest, { kind: 'nothing' });
    return this.#send(rest, message ? { kind: 'code', message } : { kind: 'code' });
  }

  /**
   * SMS login and 忘记密码: a code only when the phone has an account, yet the same waits, limits
   * and answers for every number, so asking can not tell whether one is registered.
   * `holder`, when the caller has already looked the account up (忘记密码 finds a natural person
   * by phone, a 法人 by credit code and sends to its contact phone; for a credit code that names
   * no account, `phone` is a stand-in key the waits and limits are counted on), says whether a
   * code is delivered; otherwise whether the phone belongs to an account does.
   */
  async sendToAccountHolder(input: {
    phone: string;
    purpose: 'login' | 'reset_password';
    ip: string;
    holder?: boolean;
  }): Promise<{ resendAfterSeconds: number }> {
    const { holder, ...send } = input;
    const registered = holder ?? (await this.options.phoneRegistered(input.phone));
    return this.#send(send, { kind: registered ? 'code' : 'nothing' });
  }

  /**
   * Registration: a number that already has an account gets a notice pointing to 忘记密码 instead
   * of a code, and the page answers as if a code went out.
   */
  async sendForNewAccount(input: { phone: string; ip: string }): Promise<{ resendAfterSeconds: number }> {
    const registered = await this.options.phoneRegistered(input.phone);
    return this.#send(
      { ...input, purpose: 'register' },
      registered ? { kind: 'notice', notice: SMS_NOTICES.phoneAlreadyRegistered } : { kind: 'code' },
    );
  }

  /**
   * 用户空间 → 更换手机号: a code to a number that is not yet the account's. Each account may send
   * only a few a day, so a signed-in account can not be used to message strangers' phones.
   */
  sendToNewPhone(input: {
    phone: string;
    accountId: string;
    ip: string;
  }): Promise<{ resendAfterSeconds: number }> {
    return this.#send({ phone: input.phone, purpose: 'account', ip: input.ip }, { kind: 'code' }, () =>
      this.limiter.consume(this.#newPhonePerAccount, input.accountId).then(
        () => undefined,
        (err) => {
          throw err instanceof TooManyRequests
            ? new TooManyRequests('今日向新手机号发送验证码的次数已达上限，请明天再试', err.retryAfterSeconds)
            : err;
        },
      ),
    );
  }

  async #send(
    input: { phone: string; purpose: SmsPurpose; ip: string; binding?: string },
    delivery: Delivery,
    /** A further limit, counted only once the 60-second wait has passed. */
    alsoLimit?: () => Promise<void>,
  ): Promise<{ resendAfterSeconds: number }> {
    const last = await this.store.latest(input.phone, input.purpose);
    if (last) {
      const wait = Math.ceil(
        (new Date(last.created_at).getTime() + SMS_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000,
      );
      if (wait > 0) throw new ResendTooSoon(wait, new Date(last.created_at).getTime());
    }
    await alsoLimit?.();
    await this.limiter.consume(SMS_RULES.perIpPerHour, input.ip);
    await this.limiter.consume(SMS_RULES.perPhonePerDay, input.phone).catch((err) => {
      throw err instanceof TooManyRequests
        ? new TooManyRequests('该手机号今日获取验证码次数已达上限，请明天再试')
        : err;
    });
    // A row for every send, delivered or not: it is what the 60-second wait is measured from.
    // Undelivered, its code is never told to anyone, so it can not be entered.
    // Six digits drawn one by one: every code has its form by construction, never by padding the
    // one in ten that a single draw below 100000 would give.
    const code = Array.from({ length: 6 }, () => randomInt(10)).join('');
    const id = await this.store.insert({
      phone: input.phone,
      purpose: input.purpose,
      code_hash: this.hash(input.phone, input.purpose, code, input.binding),
      expires_at: new Date(Date.now() + SMS_RULES.ttlSeconds * 1000),
      ip: input.ip,
    });
    if (delivery.kind === 'nothing') return { resendAfterSeconds: SMS_RULES.resendAfterSeconds };
    try {
      await this.gateway.send(messageOf(input.phone, code, delivery));
    } catch (err) {
      await this.store.remove(id);
      throw err;
    }
    return { resendAfterSeconds: SMS_RULES.resendAfterSeconds };
  }

  /**
   * Accepts the newest unexpired code for this phone and purpose once. Every entry counts, the
   * right one included, and is counted before it is compared: a code takes five entries at most,
   * however many arrive at once. `ip` is the entering address, limited over all phones. A code sent
   * with a `binding` is accepted only when verify names the same one.
   */
  async verify(input: SmsCodeEntry): Promise<void> {
    const row = await this.#compare(input);
    if (!(await this.store.consume(row.id))) throw new SmsCodeWrong();
  }

  /**
   * Compares an entry as verify does, counted the same way before it is compared, but leaves a
   * right code unused and gives its entry back: for a form refused in the same submit for another
   * field's problem, so that the person hears of a wrong code at once and keeps a right one for
   * the next submit (where verify uses it). A wrong entry stays counted, so the five entries a
   * code allows still bound the guesses, however many arrive at once.
   */
  async check(input: SmsCodeEntry): Promise<void> {
    const row = await this.#compare(input);
    await this.store.returnAttempt(row.id);
  }

  async #compare(input: SmsCodeEntry): Promise<{ id: number }> {
    await this.countEntry(input.ip);
    const row = await this.store.claimAttempt(input.phone, input.purpose, SMS_RULES.maxWrongEntries);
    if (!row) {
      // claimAttempt takes the newest code unless it is used, spent or expired: when the newest
      // is neither used nor spent, the database found it expired (by its own clock).
      const last = await this.store.latest(input.phone, input.purpose);
      const expired = last && !last.consumed_at && last.attempts < SMS_RULES.maxWrongEntries;
      throw expired ? new SmsCodeExpired() : new SmsCodeWrong();
    }
    if (
      !/^\d{6}$/.test(input.code) ||
      !this.protector.indexMatches(
        row.code_hash,
        'sms',
        smsIndexInput(input.phone, input.purpose, input.code, input.binding),
      )
    ) {
      throw new SmsCodeWrong();
    }
    return row;
  }

  /**
   * Counts one code entry from `ip` against the per-address limit, as verify does. For a flow that
   * refuses an entry without a code to compare (法定代表人确认 on a mismatch), so that the limit
   * answers alike whether or not there was one.
   */
  async countEntry(ip: string): Promise<void> {
    await this.limiter.consume(this.#checksPerIp, ip).catch((err) => {
      throw err instanceof TooManyRequests
        ? new TooManyRequests('验证码输入次数过多，请稍后再试', err.retryAfterSeconds)
        : err;
    });
  }

  private hash(phone: string, purpose: string, code: string, binding?: string): string {
    return this.protector.blindIndex('sms', smsIndexInput(phone, purpose, code, binding));
  }
}

/** What the gateway is handed: the code, in a message of its own or the plain text, or a notice. */
function messageOf(
  phone: string,
  code: string,
  delivery: Exclude<Delivery, { kind: 'nothing' }>,
): SmsMessage {
  switch (delivery.kind) {
    case 'code':
      return {
        phone,
        ...(delivery.message?.(code) ?? {
          templateId: SMS_TEMPLATE_VERIFICATION_CODE,
          params: { code },
          text: smsText(code),
        }),
      };
    case 'notice':
      return noticeMessage(phone, delivery.notice);
  }
}

function smsIndexInput(phone: string, purpose: string, code: string, binding?: string): string {
  return `${phone}|${purpose}|${code}${binding ? `|${binding}` : ''}`;
}
