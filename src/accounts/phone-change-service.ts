import { AppError, BadInput, PasswordWrong, TooManyRequests } from '../errors.js';
import type { RateLimiter } from '../ops/rate-limiter.js';
import type { SmsGateway } from '../outside/sms/sms-gateway.js';
import { noticeMessage, SMS_NOTICES } from '../outside/sms/sms-notices.js';
import type { AccountService } from './account-service.js';
import type { AccountRow } from './account-store.js';

/** Tries a day, per account, at 更换手机号 without the old phone; every try counts, right or wrong. */
export const PHONE_CHANGE_WITHOUT_OLD_PHONE = {
  name: 'phone-change-identity:account',
  max: 3,
  windowSeconds: 24 * 3600,
} as const;

export class IdentityMismatch extends AppError {
  override name = 'IdentityMismatch';
  constructor() {
    super(400, 'identity_mismatch', '姓名或身份证号码与账号实名信息不一致');
  }
}

/**
 * 用户空间 → 更换手机号 when the old phone is lost. Name and ID number alone are known to too many
 * people (and to whoever holds a stolen session), so the password is asked as well; three tries a
 * day; and the old phone hears of every try, since it may be its owner's still.
 */
export class PhoneChangeService {
  constructor(
    private readonly accounts: AccountService,
    private readonly limiter: RateLimiter,
    private readonly sms: SmsGateway,
  ) {}

  /** Throws TooManyRequests, PasswordWrong or IdentityMismatch; the old phone is told of a refusal. */
  async proveWithoutOldPhone(
    account: AccountRow,
    proof: { password: string; realName: string; idNumber: string },
  ): Promise<void> {
    const identity = this.accounts.identityOf(account);
    if (!identity) throw new BadInput('未实名认证的账号无法通过实名核验更换手机号，请使用原手机号验证');
    await this.limiter.consume(PHONE_CHANGE_WITHOUT_OLD_PHONE, account.id).catch((err: unknown) => {
      throw err instanceof TooManyRequests
        ? new TooManyRequests('今日验证次数已达上限，请明天再试', err.retryAfterSeconds)
        : err;
    });
    const passwordRight = await this.accounts.checkPasswordOf(account, proof.password);
    const identityRight =
      proof.realName.trim() === identity.realName &&
      proof.idNumber.trim().toUpperCase() === identity.idNumber;
    if (passwordRight && identityRight) return;
    await this.#tellOldPhone(account, 'refused');
    if (!passwordRight) throw new PasswordWrong('当前密码错误');
    throw new IdentityMismatch();
  }

  /** After the change: the old number hears that it no longer receives the account's codes. */
  changed(account: AccountRow): Promise<void> {
    return this.#tellOldPhone(account, 'changed');
  }

  async #tellOldPhone(account: AccountRow, what: 'changed' | 'refused'): Promise<void> {
    if (!account.phone) return;
    const notice =
      what === 'changed' ? SMS_NOTICES.phoneChangedWithoutIt : SMS_NOTICES.phoneChangeWithoutItRefused;
    // A notice that can not be sent must not undo the change or hide the refusal: the audit row has it.
    await this.sms.send(noticeMessage(account.phone, notice)).catch(() => undefined);
  }
}
