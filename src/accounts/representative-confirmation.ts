import { randomBytes } from 'node:crypto';
import type { DataProtector } from '../crypto/sealed.js';
import { SmsCodeWrong, TooManyRequests } from '../errors.js';
import { LIMITS, type Limit, type RateLimiter } from '../ops/rate-limiter.js';
import {
  representativeConfirmationText,
  SMS_TEMPLATE_REPRESENTATIVE_CONFIRMATION,
} from '../outside/sms/sms-gateway.js';
import type { FlowStateOf } from '../state/flow-state.js';
import type { SmsCodeService } from '../verification/sms-code-service.js';
import type { LegalPersonService, ValidRegistration } from './legal-person-service.js';
import { maskPhone } from './phone.js';

export type PendingLegalRegistration = FlowStateOf<'legal-confirm'>;

export const CONFIRMATION_RULES = {
  resendAfterSeconds: 60,
  /** The first code and two more, per filled-in form. */
  maxSends: 3,
  /** Wrong entries per filled-in form, whether or not a code went out. */
  maxEntries: 5,
} as const;

const LIMIT_REACHED = '今日验证次数已达上限，请明天再试';

/**
 * Real mainland mobile prefixes, for the masked number shown when the name and ID number match no
 * real-name account: it must look like any other.
 */
const DECOY_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '173',
  '175',
  '176',
  '177',
  '178',
  '180',
  '181',
  '182',
  '183',
  '184',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
];

/**
 * The legal representative confirms a 法人注册 with a code sent to the phone of their own
 * real-name account — never to a number the registrant typed — and the enterprise's account is
 * created only after it.
 *
 * Nothing here may tell a registrant whether the name and ID number they typed belong to a
 * real-name citizen: a match and every kind of mismatch get the same page (a masked phone, the
 * same waits, the same counts, the same 短信验证码错误或已过期). For a mismatch every send and
 * entry is counted against a stand-in key and delivered to nobody, and the masked phone is a decoy
 * derived from the name and ID number by a keyed hash, so the same details show the same number
 * again and other details another, just as real ones would.
 */
export class RepresentativeConfirmations {
  constructor(
    private readonly legalPersons: LegalPersonService,
    private readonly sms: SmsCodeService,
    private readonly limiter: RateLimiter,
    private readonly protector: DataProtector,
  ) {}

  /**
   * After the captcha and the contact phone's own SMS code: counts the identity check (per
   * address and per ID number, whether or not it matches), looks the representative up and sends
   * the first code.
   */
  async begin(valid: ValidRegistration, ip: string): Promise<PendingLegalRegistration> {
    await this.#limit(LIMITS.representativeChecksPerIp, ip);
    // Keyed by the blind index: rate-limit keys are stored, and an ID number is never stored in clear.
    await this.#limit(
      LIMITS.representativeChecksPerIdNumber,
      this.protector.blindIndex('legal-rep-check', valid.representativeIdNumber),
    );
    const registration = await this.legalPersons.withPasswordHashed(valid);
    const representative = await this.legalPersons.findRepresentative(
      registration.representativeName,
      registration.representativeIdNumber,
    );
    const pending: PendingLegalRegistration = {
      registration,
      representative: representative ?? null,
      binding: randomBytes(16).toString('base64url'),
      maskedPhone: representative
        ? maskPhone(representative.phone)
        : this.#decoy(registration.representativeName, registration.representativeIdNumber),
      sentAt: 0,
      sends: 0,
      entries: 0,
    };
    return this.send(pending, ip);
  }

  /** 重新发送: the same wait and the same count whether or not there is anyone to send to. */
  async send(pending: PendingLegalRegistration, ip: string): Promise<PendingLegalRegistration> {
    const wait = Math.ceil(
      (pending.sentAt + CONFIRMATION_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000,
    );
    if (wait > 0) throw new TooManyRequests(`请在${wait}秒后重新获取验证码`, wait);
    if (pending.sends >= CONFIRMATION_RULES.maxSends)
      throw new TooManyRequests('验证码发送次数过多，请返回重新填写注册信息');
    const { creditCode } = pending.registration;
    // A mismatch is a send too, to a stand-in for the details typed, delivered to nobody: the
    // address's hourly SMS allowance and the per-phone daily one are spent alike, or counting the
    // sends left (on this page or any other SMS form) would tell a match apart.
    await this.sms
      .send({
        phone: this.#sendTo(pending),
        purpose: 'legal_representative',
        ip,
        binding: pending.binding,
        deliver: Boolean(pending.representative),
        message: (code) => ({
          templateId: SMS_TEMPLATE_REPRESENTATIVE_CONFIRMATION,
          params: { code, creditCode },
          text: representativeConfirmationText(code, creditCode),
        }),
      })
      .catch((err: unknown) => {
        // The representative's phone has had its day's codes (or the address its hour's): a
        // different answer here would tell a match apart, so the page says what it says for
        // any other details, and no code arrives.
        if (!(err instanceof TooManyRequests)) throw err;
      });
    return { ...pending, sentAt: Date.now(), sends: pending.sends + 1 };
  }

  /**
   * Checks the representative's code and creates the account. Every refusal before the code is
   * right is SmsCodeWrong, for a match and a mismatch alike. The caller stores `pending` with one
   * more entry counted before calling, so a refused entry is never free.
   */
  async confirm(
    pending: PendingLegalRegistration,
    code: string,
    ip: string,
  ): Promise<{ accountId: string; representativeAccountId: string }> {
    if (pending.entries >= CONFIRMATION_RULES.maxEntries) throw new SmsCodeWrong();
    // A mismatch's entry is checked against its stand-in's row like any other, so the entering
    // address's limit and the code's own count of wrong entries are spent alike.
    await this.sms.verify({
      phone: this.#sendTo(pending),
      purpose: 'legal_representative',
      code,
      ip,
      binding: pending.binding,
    });
    // Nobody was told the stand-in's code; a guess that happened to hit it confirms nothing.
    if (!pending.representative) throw new SmsCodeWrong();
    const accountId = await this.legalPersons.register(
      pending.registration,
      pending.representative.accountId,
    );
    return { accountId, representativeAccountId: pending.representative.accountId };
  }

  #limit(limit: Limit, subject: string): Promise<void> {
    return this.limiter.consume(limit, subject).then(
      () => undefined,
      (err: unknown) => {
        throw err instanceof TooManyRequests
          ? new TooManyRequests(LIMIT_REACHED, err.retryAfterSeconds)
          : err;
      },
    );
  }

  /**
   * The representative's phone, or for details that match no one a stand-in key the waits and
   * limits are counted on: keyed by the details (a blind index, never the ID number in clear),
   * so the same details spend the same daily allowance, as a real representative's phone would.
   */
  #sendTo(pending: PendingLegalRegistration): string {
    if (pending.representative) return pending.representative.phone;
    const { representativeName, representativeIdNumber } = pending.registration;
    return `legal-rep:${this.protector.blindIndex('legal-rep-stand-in', `${representativeIdNumber}|${representativeName}`)}`;
  }

  #decoy(name: string, idNumber: string): string {
    const bytes = this.protector.keyedDigest('legal-rep-decoy', `${idNumber}|${name}`);
    const prefix = DECOY_PREFIXES[bytes.readUInt16BE(0) % DECOY_PREFIXES.length];
    const last = String(bytes.readUInt32BE(2) % 10_000).padStart(4, '0');
    return `${prefix}****${last}`;
  }
}
