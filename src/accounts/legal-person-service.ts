import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../db/unique-violation.js';
import { AppError, BadInput, Conflict } from '../errors.js';
import type { EnterpriseVerifier } from '../outside/enterprise/enterprise-verifier.js';
import type { AccountService } from './account-service.js';
import { isLegalType, LEGAL_TYPES, type LegalType, parseCreditCode } from './credit-code.js';
import { parseIdNumber } from './id-number.js';
import type {
  LegalPersonRow,
  LegalPersonStore,
  LegalPersonWithRepresentative,
} from './legal-person-store.js';
import { maskCreditCode, maskName } from './mask.js';
import { passwordHasher } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import { maskPhone } from './phone.js';

export const CREDIT_CODE_TAKEN = '该统一社会信用代码已注册，请直接登录或找回密码';
export const REPRESENTATIVE_NOT_VERIFIED = '法定代表人须先注册自然人账号并完成实名认证';

/** What a legal person's own pages (用户空间, consent) show of it: masked where it identifies. */
export interface EnterpriseProfile {
  orgName: string;
  creditCodeMasked: string;
  legalType: string;
  representativeMasked: string;
  contactPhoneMasked: string;
}

export interface LegalRegistration {
  legalType: LegalType;
  orgName: string;
  creditCode: string;
  representativeName: string;
  representativeIdNumber: string;
  /** E.164; the representative's phone, where this account's SMS codes go. */
  contactPhone: string;
  password: string;
}

/** 法人注册: under a real-name (L2) representative, checked by the enterprise registry → L2. */
export class LegalPersonService {
  constructor(
    private readonly store: LegalPersonStore,
    private readonly accounts: AccountService,
    private readonly verifier: EnterpriseVerifier,
  ) {}

  /** Everything that can be checked before the SMS code is spent. */
  async check(input: LegalRegistration): Promise<{ creditCode: string; representativeId: string }> {
    const orgName = input.orgName.trim();
    if (orgName.length < 2 || orgName.length > 100) throw new BadInput('请输入正确的机构名称');
    const code = parseCreditCode(input.creditCode, input.legalType);
    if (!code.ok) throw new BadInput(code.message);
    const rule = checkPassword(input.password, { phone: input.contactPhone.replace(/^\+86/, '') });
    if (!rule.ok) throw new BadInput(rule.message);
    const id = parseIdNumber(input.representativeIdNumber);
    if (!id.ok) throw new BadInput(id.message);
    const representative = await this.accounts.findByLogin(id.idNumber);
    const identity = representative ? this.accounts.identityOf(representative) : undefined;
    if (
      !representative ||
      !identity ||
      representative.user_type !== 'natural_person' ||
      representative.status === 'closed' ||
      representative.certification_level === 'L1'
    ) {
      throw new AppError(400, 'representative_not_verified', REPRESENTATIVE_NOT_VERIFIED);
    }
    if (identity.realName !== input.representativeName.trim()) {
      throw new AppError(400, 'representative_mismatch', '法定代表人姓名与其实名认证信息不一致');
    }
    if (await this.store.findByCreditCode(code.creditCode))
      throw new Conflict(CREDIT_CODE_TAKEN, 'credit_code_taken');
    return { creditCode: code.creditCode, representativeId: representative.id };
  }

  async register(
    input: LegalRegistration,
    checked: { creditCode: string; representativeId: string },
  ): Promise<string> {
    const answer = await this.verifier.verify({
      creditCode: checked.creditCode,
      orgName: input.orgName.trim(),
      legalType: input.legalType,
      representativeName: input.representativeName.trim(),
      representativeIdNumber: input.representativeIdNumber.trim().toUpperCase(),
    });
    if (answer === 'not_found')
      throw new AppError(
        400,
        'enterprise_not_found',
        '未查询到该企业（机构）的登记信息，请核对统一社会信用代码',
      );
    if (answer === 'mismatch') {
      throw new AppError(
        400,
        'enterprise_mismatch',
        '企业信息核验未通过：机构名称、统一社会信用代码与法定代表人不一致',
      );
    }
    const accountId = randomUUID();
    try {
      await this.store.create(
        { id: accountId, password_hash: await passwordHasher.hash(input.password) },
        {
          credit_code: checked.creditCode,
          org_name: input.orgName.trim(),
          legal_type: input.legalType,
          representative_account_id: checked.representativeId,
          contact_phone: input.contactPhone,
        },
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(CREDIT_CODE_TAKEN, 'credit_code_taken');
      throw err;
    }
    return accountId;
  }

  find(accountId: string): Promise<LegalPersonRow | undefined> {
    return this.store.find(accountId);
  }

  async profileOf(accountId: string): Promise<EnterpriseProfile | undefined> {
    const row = await this.store.findWithRepresentative(accountId);
    if (!row) return undefined;
    const identity = this.representativeOf(row);
    return {
      orgName: row.org_name,
      creditCodeMasked: maskCreditCode(row.credit_code),
      legalType: isLegalType(row.legal_type) ? LEGAL_TYPES[row.legal_type].label : row.legal_type,
      representativeMasked: identity ? maskName(identity.realName) : '—',
      contactPhoneMasked: maskPhone(row.contact_phone),
    };
  }

  private representativeOf(row: LegalPersonWithRepresentative) {
    return row.representative_status === 'closed'
      ? undefined
      : this.accounts.identityOf({
          id: row.representative_account_id,
          real_name: row.representative_real_name,
          id_number: row.representative_id_number,
          id_type: row.representative_id_type,
        });
  }

  /** uscc, org_name, legal_type and the representative's name, for the enterprise scope. */
  async enterpriseOf(accountId: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.store.findWithRepresentative(accountId);
    if (!row) return undefined;
    const identity = this.representativeOf(row);
    return {
      uscc: row.credit_code,
      org_name: row.org_name,
      legal_type: row.legal_type,
      ...(identity
        ? { legal_representative: identity.realName, name: row.org_name }
        : { name: row.org_name }),
    };
  }
}
