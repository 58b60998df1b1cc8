import type { DataProtector } from '../crypto/sealed.js';
import { isUniqueViolation } from '../db/unique-violation.js';
import { AppError, BadInput, Conflict, NotFound } from '../errors.js';
import type { IdentityVerifier } from '../outside/identity/identity-verifier.js';
import type { AccountService } from './account-service.js';
import type { AccountStore } from './account-store.js';
import { parseIdNumber } from './id-number.js';

/** A real name as 实名认证 accepts it (Han characters, or Latin letters, with the middle dot). */
export const REAL_NAME = /^[\p{Script=Han}·•A-Za-z ]{2,30}$/u;

export const ID_NUMBER_TAKEN = '该身份证号码已被其他账号实名认证。如果那是您的账号，请使用“忘记密码”找回。';

/** 实名认证: name + ID number, checked locally first, then by the identity verification service. */
export class RealNameService {
  constructor(
    private readonly store: AccountStore,
    private readonly accounts: AccountService,
    private readonly verifier: IdentityVerifier,
    readonly _protector: DataProtector,
  ) {}

  async verify(accountId: string, input: { realName: string; idNumber: string }, method = 'id_card') {
    // Refused before the identity service is asked: a verified identity never changes here.
    if ((await this.store.findById(accountId))?.verified_at)
      throw new Conflict('您的账号已完成实名认证，姓名和身份证号码不能修改', 'already_verified');
    const { realName, idNumber } = await this.#checked(accountId, input);
    try {
      const saved = await this.store.setIdentity(
        accountId,
        this.accounts.sealIdentity(accountId, { realName, idNumber }, method),
      );
      if (!saved) throw new Conflict('您的账号已完成实名认证，姓名和身份证号码不能修改', 'already_verified');
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      throw err;
    }
  }

  /**
   * 用户管理 → 更正身份信息: an operator corrects a verified citizen's name or ID number, checked
   * by the identity verification service like a first verification. The old and new values are
   * returned for the audit row (masked there).
   */
  async correct(accountId: string, input: { realName: string; idNumber: string }) {
    const { realName, idNumber, account } = await this.#checked(accountId, input);
    if (account.user_type !== 'natural_person' || !account.verified_at)
      throw new Conflict('只能更正已实名认证的自然人账号', 'not_verified');
    const before = this.accounts.identityOf(account);
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

  /** The name and number as entered, valid, not another account's, and confirmed by the verifier. */
  async #checked(accountId: string, input: { realName: string; idNumber: string }) {
    const realName = input.realName.trim();
    if (!REAL_NAME.test(realName)) throw new BadInput('请输入正确的真实姓名');
    const parsed = parseIdNumber(input.idNumber);
    if (!parsed.ok) throw new BadInput(parsed.message);
    const account = await this.store.findById(accountId);
    if (!account) throw new NotFound();
    const hash = this.accounts.idNumberIndex(parsed.idNumber);
    const holder = await this.store.findByIdNumberHash(hash);
    if (holder && holder.id !== accountId) throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');

    const result = await this.verifier.verify({ name: realName, idNumber: parsed.idNumber });
    if (result === 'mismatch')
      throw new AppError(400, 'identity_mismatch', '姓名与身份证号码不一致，请核对后重试');
    if (result === 'not_found')
      throw new AppError(400, 'identity_not_found', '未查询到该身份信息，请核对后重试');
    return { realName, idNumber: parsed.idNumber, account };
  }
}
