import { isUniqueViolation } from '../db/unique-violation.js';
import { AppError, Conflict, type FieldProblem, FormInvalid, NotFound } from '../errors.js';
import { parseIdNumber } from '../identifiers/id-number.js';
import type { IdentityVerifier } from '../outside/identity/identity-verifier.js';
import type { SmsGateway } from '../outside/sms/sms-gateway.js';
import { noticeMessage, SMS_NOTICES } from '../outside/sms/sms-notices.js';
import type { AccountService } from './account-service.js';
import type { AccountRow, AccountStore } from './account-store.js';
import type { IdentityCheckLimits } from './identity-check-limits.js';

/** A real name as 实名认证 accepts it (Han characters, or Latin letters, with the middle dot). */
export const REAL_NAME = /^[\p{Script=Han}·•A-Za-z ]{2,30}$/u;

export const ID_NUMBER_TAKEN = '该身份证号码已被其他账号实名认证。如果那是您的账号，请使用“忘记密码”找回。';

/**
 * The one answer to every failed 实名认证 — name and number that do not match, a number the
 * register does not know, and a number verified by another account alike — so the page can not
 * be used to learn which name goes with an ID number, or whether it already has an account.
 */
export const IDENTITY_NOT_VERIFIED =
  '实名核验未通过，请核对姓名和身份证号码。如该身份证号码已注册过账号，请使用“忘记密码”找回。';

export class IdentityNotVerified extends AppError {
  override name = 'IdentityNotVerified';
  constructor() {
    super(400, 'identity_not_verified', IDENTITY_NOT_VERIFIED);
  }
}

/** 实名认证: name + ID number, checked locally first, then by the identity verification service. */
export class RealNameService {
  constructor(
    private readonly store: AccountStore,
    private readonly accounts: AccountService,
    private readonly verifier: IdentityVerifier,
    private readonly limits: IdentityCheckLimits,
    private readonly sms: SmsGateway,
  ) {}

  /**
   * `ip` is the requesting address: attempts are limited per account and per address a day
   * (今日验证次数已达上限), and the verification service's calls by a daily budget.
   */
  async verify(
    accountId: string,
    input: { realName: string; idNumber: string; ip: string },
    method = 'id_card',
  ) {
    const account = await this.store.findById(accountId);
    if (!account) throw new NotFound();
    // Refused before the identity service is asked: a verified identity never changes here.
    if (account.verified_at)
      throw new Conflict('您的账号已完成实名认证，姓名和身份证号码不能修改', 'already_verified');
    const { realName, idNumber } = await this.#checked(accountId, input, async (parsedAccount) => {
      await this.limits.admit({ accountId: parsedAccount, ip: input.ip });
    });
    try {
      const saved = await this.store.setIdentity(
        accountId,
        this.accounts.sealIdentity(accountId, { realName, idNumber }, method),
      );
      if (!saved) throw new Conflict('您的账号已完成实名认证，姓名和身份证号码不能修改', 'already_verified');
    } catch (err) {
      // Another account took the number a moment ago: the same answer as when it was taken before.
      if (isUniqueViolation(err)) throw new IdentityNotVerified();
      throw err;
    }
  }

  /**
   * 用户管理 → 更正身份信息: an operator corrects a verified citizen's name or ID number, checked
   * by the identity verification service like a first verification. The old and new values are
   * returned for the audit row (masked there). The operator is told plainly what went wrong.
   */
  async correct(accountId: string, input: { realName: string; idNumber: string }) {
    const account = await this.store.findById(accountId);
    if (!account) throw new NotFound();
    if (account.user_type !== 'natural_person' || !account.verified_at)
      throw new Conflict('只能更正已实名认证的自然人账号', 'not_verified');
    const before = this.accounts.identityOf(account);
    const { realName, idNumber } = await this.#checked(accountId, input, undefined, true);
    try {
      const saved = await this.store.correctIdentity(
        accountId,
        this.accounts.sealIdentity(
          accountId,
          { realName, idNumber },
          account.verification_method ?? 'id_card',
        ),
      );
      if (!saved) throw new Conflict('只能更正已实名认证的自然人账号', 'not_verified');
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      throw err;
    }
    return { before, after: { realName, idNumber } };
  }

  /**
   * The name and number as entered, valid, not another account's, and confirmed by the verifier.
   * `admit` runs the requester's limits once the input is well-formed; `plainAnswers` (operators)
   * names the reason of a refusal where a citizen gets the one generic answer.
   */
  async #checked(
    accountId: string,
    input: { realName: string; idNumber: string },
    admit?: (accountId: string) => Promise<void>,
    plainAnswers = false,
  ) {
    const realName = input.realName.trim();
    const parsed = parseIdNumber(input.idNumber);
    // Both judged before either is refused (FormInvalid names them by the input's keys).
    const problems: FieldProblem[] = [];
    if (!REAL_NAME.test(realName)) problems.push({ field: 'realName', message: '请输入正确的真实姓名' });
    if (!parsed.ok) problems.push({ field: 'idNumber', message: parsed.message });
    if (!parsed.ok || problems.length) throw new FormInvalid(problems);
    await admit?.(accountId);
    const holder = await this.store.findByIdNumberHash(this.accounts.idNumberIndexes(parsed.idNumber));
    if (holder && holder.id !== accountId) {
      if (plainAnswers) throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      await this.notifyHolder(holder);
      throw new IdentityNotVerified();
    }

    await this.limits.spendVerifierCall();
    const result = await this.verifier.verify({ name: realName, idNumber: parsed.idNumber });
    if (result !== 'match') {
      if (!plainAnswers) throw new IdentityNotVerified();
      if (result === 'mismatch')
        throw new AppError(400, 'identity_mismatch', '姓名与身份证号码不一致，请核对后重试');
      throw new AppError(400, 'identity_not_found', '未查询到该身份信息，请核对后重试');
    }
    return { realName, idNumber: parsed.idNumber };
  }

  /** The holder of an ID number learns, by SMS, that someone tried it for another account. */
  private async notifyHolder(holder: AccountRow): Promise<void> {
    if (!holder.phone || !(await this.limits.mayNotifyHolder(holder.id))) return;
    // A notice that does not go out changes nothing for the person at the page.
    await this.sms.send(noticeMessage(holder.phone, SMS_NOTICES.idNumberTriedElsewhere)).catch(() => {});
  }
}
