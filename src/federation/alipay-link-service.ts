import { randomUUID } from 'node:crypto';
import { type AccountService, type Identity, PHONE_TAKEN } from '../accounts/account-service.js';
import type { AccountRow } from '../accounts/account-store.js';
import { parseMainlandMobile } from '../accounts/phone.js';
import { ID_NUMBER_TAKEN, REAL_NAME } from '../accounts/real-name-service.js';
import type { DataProtector } from '../crypto/sealed.js';
import { isUniqueViolation } from '../db/unique-violation.js';
import { BadInput, Conflict, NotFound } from '../errors.js';
import { parseIdNumber } from '../identifiers/id-number.js';
import { type AlipayClient, AlipayError, isRealNameCertified } from '../outside/alipay/client.js';
import {
  AccountLinkedToOtherAlipay,
  AlipayIdentityMismatch,
  AlipayNotCertified,
  AlipayNotConfigured,
  AlipayUnlinkRefused,
  AlipayUserLinked,
} from './alipay-errors.js';
import type { AlipayLinkRow, AlipayLinkStore } from './alipay-link-store.js';

/** What Unified ID keeps of one Alipay authorisation, for the length of a flow; never Alipay's tokens. */
export interface AlipayProfile {
  /** `user_id` (2088…) for older apps, `open_id` for newer ones: whichever Alipay gives. */
  subject: { kind: 'user_id' | 'open_id'; id: string };
  /** Alipay vouches for this name on a resident ID card (is_certified T, cert_type 0). */
  identity?: { realName: string; idNumber: string };
  /** Alipay's mobile, E.164, when it is a mainland mobile number. */
  mobile?: string;
}

/** The linked Alipay user as 用户空间 shows it. */
export interface LinkedAlipay {
  /** `2088********0001`: never the whole id. */
  alipayUserMasked: string;
  idKind: AlipayLinkRow['id_kind'];
  linkedAt: string;
}

/** `2088000000000001` → `2088********0001`. */
export function maskAlipayUser(id: string): string {
  if (id.length <= 8) return '*'.repeat(id.length);
  return `${id.slice(0, 4)}${'*'.repeat(Math.min(id.length - 8, 8))}${id.slice(-4)}`;
}

/**
 * Alipay federation (DESIGN §1 natural person 3–5): the profile behind an auth_code, and the
 * links between Alipay users and accounts. Alipay's certified identity makes an account L2; one
 * ID number still belongs to one account, and an Alipay user to one account, an account to one
 * Alipay user. Nothing here reads a request: routes pass in what the person did.
 */
export class AlipayLinkService {
  constructor(
    private readonly store: AlipayLinkStore,
    private readonly accounts: AccountService,
    private readonly protector: DataProtector,
    private readonly client: AlipayClient | undefined,
  ) {}

  /** Whether 支付宝登录 and 支付宝认证 are offered at all (ALIPAY_APP_ID and both keys set). */
  get configured(): boolean {
    return this.client !== undefined;
  }

  authorizeUrl(state: string, redirectUri: string): string {
    return this.alipay().authorizeUrl(state, redirectUri);
  }

  /**
   * The auth_code redeemed (alipay.system.oauth.token) and the user's profile read
   * (alipay.user.info.share), both answers signature-checked by the client. The access token is
   * dropped here. Throws AlipayError for every failure (signature, sub_code, unavailable, timeout).
   */
  async fetchProfile(authCode: string): Promise<AlipayProfile> {
    const client = this.alipay();
    const token = await client.exchangeCode(authCode);
    const info = await client.userInfo(token.accessToken);
    const userId = info.userId ?? token.userId;
    const openId = info.openId ?? token.openId;
    if (
      (info.userId && token.userId && info.userId !== token.userId) ||
      (info.openId && token.openId && info.openId !== token.openId)
    ) {
      throw new AlipayError('gateway', 'user info answers for another user than the token', {
        method: 'alipay.user.info.share',
      });
    }
    const subject = userId
      ? { kind: 'user_id' as const, id: userId }
      : { kind: 'open_id' as const, id: openId ?? '' };
    const profile: AlipayProfile = { subject };
    if (isRealNameCertified(info)) {
      const realName = (info.userName ?? '').trim();
      const parsed = parseIdNumber(info.certNo ?? '');
      // What Alipay certifies must still be a readable name and a valid resident ID number.
      if (parsed.ok && REAL_NAME.test(realName)) profile.identity = { realName, idNumber: parsed.idNumber };
    }
    const mobile = parseMainlandMobile(info.mobile ?? '');
    if (mobile.ok) profile.mobile = mobile.e164;
    return profile;
  }

  /** The account this Alipay user signs in to, if linked. */
  async accountLinkedTo(profile: AlipayProfile): Promise<AccountRow | undefined> {
    const link = await this.store.findByUserHash(this.subjectHashes(profile));
    return link ? this.accounts.find(link.account_id) : undefined;
  }

  /** The account that already holds the certified ID number (one ID number, one account). */
  async accountHolding(profile: AlipayProfile): Promise<AccountRow | undefined> {
    if (!profile.identity) return undefined;
    return this.accounts.findByLogin(profile.identity.idNumber);
  }

  /**
   * 支付宝关联注册: a real-name (L2) account from Alipay's certified name and ID number, with the
   * given phone (Alipay's, or one the person proved by SMS), no password, linked to the Alipay user.
   */
  async register(profile: AlipayProfile, phone: string): Promise<AccountRow> {
    const identity = profile.identity;
    if (!identity) throw new AlipayNotCertified();
    const parsedPhone = parseMainlandMobile(phone);
    if (!parsedPhone.ok) throw new BadInput(parsedPhone.message);
    const refusal = async () => {
      if (await this.store.findByUserHash(this.subjectHashes(profile))) return new AlipayUserLinked();
      if (await this.accounts.findByPhone(parsedPhone.e164)) return new Conflict(PHONE_TAKEN, 'phone_taken');
      if (await this.accountHolding(profile)) return new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      return undefined;
    };
    const refused = await refusal();
    if (refused) throw refused;
    const accountId = randomUUID();
    try {
      await this.store.createLinkedAccount(
        { id: accountId, phone: parsedPhone.e164 },
        this.accounts.sealIdentity(accountId, identity, 'alipay'),
        this.sealLink(accountId, profile),
      );
    } catch (err) {
      // Another request got there first: say which of the three it took.
      if (isUniqueViolation(err)) throw (await refusal()) ?? new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      throw err;
    }
    const account = await this.accounts.find(accountId);
    if (!account) throw new NotFound();
    return account;
  }

  /**
   * Links the Alipay user to the account that already holds its certified ID number, once the
   * person has signed in to that account (the row the route loaded for it). Its verified name
   * must be Alipay's too.
   */
  async linkExisting(account: AccountRow, profile: AlipayProfile): Promise<void> {
    if (await this.assertLinkable(account, profile)) return;
    try {
      await this.store.insert({ account_id: account.id, ...this.sealLink(account.id, profile) });
    } catch (err) {
      if (isUniqueViolation(err)) {
        await this.refuseOtherLinks(account.id, profile);
        throw new AlipayUserLinked();
      }
      throw err;
    }
  }

  /**
   * Throws why the Alipay user can not be linked to the account (not certified, another identity,
   * either side linked elsewhere); true when the two are linked already. Asked before the person
   * is sent to sign in to the account, so that they are not asked in vain.
   */
  async assertLinkable(account: AccountRow, profile: AlipayProfile): Promise<boolean> {
    if (!profile.identity) throw new AlipayNotCertified();
    if (!sameIdentity(this.accounts.identityOf(activeCitizen(account)), profile.identity)) {
      throw new AlipayIdentityMismatch();
    }
    return this.refuseOtherLinks(account.id, profile);
  }

  /**
   * 支付宝认证 (用户空间 → 认证等级, or the required-level step of a sign-in). Alipay's certified
   * name and ID number must equal the account's own when it is verified; an unverified account
   * takes them (unless another account holds that ID number) and becomes L2. The Alipay user is
   * also linked when neither side is linked yet, so that 支付宝登录 works from then on.
   */
  async certify(
    accountId: string,
    profile: AlipayProfile,
  ): Promise<{ verifiedNow: boolean; linkedNow: boolean }> {
    const alipayIdentity = profile.identity;
    if (!alipayIdentity) throw new AlipayNotCertified();
    const account = activeCitizen(await this.accounts.find(accountId));
    const own = this.accounts.identityOf(account);
    if (own && !sameIdentity(own, alipayIdentity)) throw new AlipayIdentityMismatch();
    if (!own) {
      const holder = await this.accountHolding(profile);
      if (holder && holder.id !== accountId) throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
    }
    const linkable =
      !(await this.store.findByAccount(accountId)) &&
      !(await this.store.findByUserHash(this.subjectHashes(profile)));
    const identity = own ? undefined : this.accounts.sealIdentity(accountId, alipayIdentity, 'alipay');
    const link = linkable ? this.sealLink(accountId, profile) : undefined;
    if (!identity && !link) return { verifiedNow: false, linkedNow: false };
    let written: boolean;
    try {
      written = await this.store.certify(accountId, identity, link);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const holder = await this.accountHolding(profile);
      if (identity && holder && holder.id !== accountId)
        throw new Conflict(ID_NUMBER_TAKEN, 'id_number_taken');
      throw new AlipayUserLinked();
    }
    if (!written) throw new Conflict('您的账号已完成实名认证，姓名和身份证号码不能修改', 'already_verified');
    return { verifiedNow: !!identity, linkedNow: !!link };
  }

  /** 用户空间: the Alipay user linked to the account, masked; undefined when none is. */
  async linkedAccountOf(accountId: string): Promise<LinkedAlipay | undefined> {
    const link = await this.store.findByAccount(accountId);
    return link ? this.shown(link) : undefined;
  }

  /**
   * 用户空间 → 解除绑定 of the signed-in account. Refused (AlipayUnlinkRefused) while the account
   * has no password: Alipay would otherwise be gone as its only credential of its own. SMS login
   * is not counted as one, because a mobile number can pass to someone else (运营商二次放号), who
   * would then hold the account. The Alipay user it unlinked, for the audit record; undefined when
   * none was linked.
   */
  async unlink(account: Pick<AccountRow, 'id' | 'password_hash'>): Promise<LinkedAlipay | undefined> {
    const link = await this.store.findByAccount(account.id);
    if (!link) return undefined;
    if (!account.password_hash) throw new AlipayUnlinkRefused();
    return (await this.store.remove(account.id)) ? this.shown(link) : undefined;
  }

  private alipay(): AlipayClient {
    if (!this.client) throw new AlipayNotConfigured();
    return this.client;
  }

  /** Throws when either side is linked elsewhere; true when the two are linked to each other. */
  private async refuseOtherLinks(accountId: string, profile: AlipayProfile): Promise<boolean> {
    const mine = await this.store.findByAccount(accountId);
    const theirs = await this.store.findByUserHash(this.subjectHashes(profile));
    if (theirs && theirs.account_id !== accountId) throw new AlipayUserLinked();
    if (mine && !this.subjectHashes(profile).includes(mine.alipay_user_hash))
      throw new AccountLinkedToOtherAlipay();
    return !!mine;
  }

  private shown(link: AlipayLinkRow): LinkedAlipay {
    return {
      alipayUserMasked: maskAlipayUser(this.protector.open(link.alipay_user, linkContext(link.account_id))),
      idKind: link.id_kind,
      linkedAt: new Date(link.created_at).toISOString(),
    };
  }

  private subjectHash(profile: AlipayProfile): string {
    return this.protector.blindIndex('alipay_user', alipaySubjectKey(profile.subject));
  }

  private subjectHashes(profile: AlipayProfile): string[] {
    return this.protector.blindIndexes('alipay_user', alipaySubjectKey(profile.subject));
  }

  private sealLink(
    accountId: string,
    profile: AlipayProfile,
  ): Omit<AlipayLinkRow, 'created_at' | 'account_id'> {
    return {
      alipay_user_hash: this.subjectHash(profile),
      alipay_user: this.protector.seal(profile.subject.id, linkContext(accountId)),
      id_kind: profile.subject.kind,
    };
  }
}

function activeCitizen(account: AccountRow | undefined): AccountRow {
  if (account?.status !== 'active') throw new NotFound('账号不存在或已停用');
  if (account.user_type !== 'natural_person') throw new BadInput('支付宝认证仅适用于自然人用户');
  return account;
}

function sameIdentity(own: Identity | undefined, alipay: { realName: string; idNumber: string }): boolean {
  return (
    !!own && own.idNumber.toUpperCase() === alipay.idNumber.toUpperCase() && own.realName === alipay.realName
  );
}

const linkContext = (accountId: string) => `alipay_link:${accountId}`;

/** What an Alipay user's blind index covers (`unified-id crypto migrate` rebuilds it from the link). */
export function alipaySubjectKey(subject: { kind: string; id: string }): string {
  return `${subject.kind}:${subject.id}`;
}
