import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../db/unique-violation.js';
import { AppError, Conflict, type FieldProblem, FormInvalid } from '../errors.js';
import { isLegalType, LEGAL_TYPES, type LegalType, parseCreditCode } from '../identifiers/credit-code.js';
import { maskIdNumber, parseIdNumber } from '../identifiers/id-number.js';
import type { EnterpriseVerifier } from '../outside/enterprise/enterprise-verifier.js';
import type { AccountService } from './account-service.js';
import type {
  LegalPersonRow,
  LegalPersonStore,
  LegalPersonWithRepresentative,
} from './legal-person-store.js';
import { maskCreditCode, maskName } from './mask.js';
import { checkPassword } from './password-policy.js';
import { maskPhone } from './phone.js';

export const CREDIT_CODE_TAKEN = '该统一社会信用代码已注册，请直接登录或找回密码';

/** What a legal person's own pages (用户空间, consent) show of it: masked where it identifies. */
export interface EnterpriseProfile {
  orgName: string;
  creditCodeMasked: string;
  legalType: string;
  representativeMasked: string;
  /** For the console's 用户管理, beside the name; — when the representative's account is closed. */
  representativeIdNumberMasked: string;
  contactPhoneMasked: string;
}

export interface LegalRegistration {
  legalType: LegalType;
  orgName: string;
  creditCode: string;
  representativeName: string;
  representativeIdNumber: string;
  /** E.164; the enterprise's contact phone, verified by its own code, where its SMS codes go. */
  contactPhone: string;
  password: string;
}

/** A registration whose forms are right (normalised): nothing about any person checked yet. */
export type ValidRegistration = LegalRegistration;

/** … with its password hashed, as it waits for the representative. */
export interface CheckedRegistration extends Omit<LegalRegistration, 'password'> {
  passwordHash: string;
}

/** The representative's own real-name account, once name and ID number matched it. */
export interface Representative {
  accountId: string;
  /** E.164: the phone of the representative's account, where the confirmation code goes. */
  phone: string;
}

/** 法人注册: under a real-name (L2) representative who confirms, checked by the enterprise registry → L2. */
export class LegalPersonService {
  constructor(
    private readonly store: LegalPersonStore,
    private readonly accounts: AccountService,
    private readonly verifier: EnterpriseVerifier,
  ) {}

  /**
   * The forms of the enterprise's fields and the password, and whether the credit code is free:
   * nothing here depends on who the representative is, so it may answer before any SMS code.
   */
  async check(input: LegalRegistration): Promise<ValidRegistration> {
    // Every field is judged before any is refused (FormInvalid names them by their keys here).
    const problems: FieldProblem[] = [];
    const refuse = (field: keyof LegalRegistration, message: string) => problems.push({ field, message });
    const orgName = input.orgName.trim();
    if (orgName.length < 2 || orgName.length > 100) refuse('orgName', '请输入正确的机构名称');
    const code = parseCreditCode(input.creditCode, input.legalType);
    if (!code.ok) refuse('creditCode', code.message);
    const rule = checkPassword(input.password, { phone: input.contactPhone.replace(/^\+86/, '') });
    if (!rule.ok) refuse('password', rule.message);
    const representativeName = input.representativeName.trim();
    if (representativeName.length < 2 || representativeName.length > 30)
      refuse('representativeName', '请输入法定代表人姓名');
    const id = parseIdNumber(input.representativeIdNumber);
    if (!id.ok) refuse('representativeIdNumber', id.message);
    if (!code.ok || !id.ok || problems.length) throw new FormInvalid(problems);
    if (await this.store.findByCreditCode(code.creditCode))
      throw new Conflict(CREDIT_CODE_TAKEN, 'credit_code_taken');
    return {
      legalType: input.legalType,
      orgName,
      creditCode: code.creditCode,
      representativeName,
      representativeIdNumber: id.idNumber,
      contactPhone: input.contactPhone,
      password: input.password,
    };
  }

  /** Hashed only once the SMS code was right: argon2id is too dear to spend on any request. */
  async withPasswordHashed({ password, ...rest }: ValidRegistration): Promise<CheckedRegistration> {
    return { ...rest, passwordHash: await this.accounts.passwords.hash(password) };
  }

  /**
   * The real-name citizen account the name and ID number belong to, with a phone to confirm on;
   * undefined for every kind of mismatch alike (unknown, not real-name, other name, closed, no
   * phone). Callers must not let the difference show: see RepresentativeConfirmations.
   */
  async findRepresentative(name: string, idNumber: string): Promise<Representative | undefined> {
    const account = await this.accounts.findByLogin(idNumber);
    if (
      account?.user_type !== 'natural_person' ||
      account.status === 'closed' ||
      account.certification_level === 'L1' ||
      !account.phone
    )
      return undefined;
    const identity = this.accounts.identityOf(account);
    if (!identity || identity.idNumber !== idNumber || identity.realName !== name) return undefined;
    return { accountId: account.id, phone: account.phone };
  }

  /** Creates the enterprise's account; only once its representative has confirmed. */
  async register(input: CheckedRegistration, representativeAccountId: string): Promise<string> {
    const answer = await this.verifier.verify({
      creditCode: input.creditCode,
      orgName: input.orgName,
      legalType: input.legalType,
      representativeName: input.representativeName,
      representativeIdNumber: input.representativeIdNumber,
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
        { id: accountId, password_hash: input.passwordHash },
        {
          credit_code: input.creditCode,
          org_name: input.orgName,
          legal_type: input.legalType,
          representative_account_id: representativeAccountId,
          contact_phone: input.contactPhone,
        },
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(CREDIT_CODE_TAKEN, 'credit_code_taken');
      throw err;
    }
    return accountId;
  }

  /** 用户空间 → 我担任法定代表人的法人账号. */
  representedBy(accountId: string): Promise<LegalPersonRow[]> {
    return this.store.listByRepresentative(accountId);
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
      representativeIdNumberMasked: identity ? maskIdNumber(identity.idNumber) : '—',
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
