import { AppError } from '../errors.js';

/** Alipay is not configured (no ALIPAY_APP_ID and keys): there is no 支付宝登录 to start. */
export class AlipayNotConfigured extends AppError {
  override name = 'AlipayNotConfigured';
  constructor() {
    super(404, 'alipay_not_configured', '本平台未开通支付宝登录');
  }
}

/** The Alipay user is not real-name certified on a resident ID card, or did not share it. */
export class AlipayNotCertified extends AppError {
  override name = 'AlipayNotCertified';
  constructor() {
    super(
      403,
      'alipay_not_certified',
      '支付宝登录需要已完成实名认证（居民身份证）的支付宝账户。您的支付宝账户尚未实名认证，或未授权本平台获取实名信息。',
    );
  }
}

/** Alipay's certified name and ID number are not the account's own verified ones. */
export class AlipayIdentityMismatch extends AppError {
  override name = 'AlipayIdentityMismatch';
  constructor() {
    super(
      409,
      'alipay_identity_mismatch',
      '支付宝账户的实名信息与该账号已认证的姓名和身份证号码不一致，无法使用该支付宝账户。',
    );
  }
}

/** The Alipay user is already linked to another account. */
export class AlipayUserLinked extends AppError {
  override name = 'AlipayUserLinked';
  constructor() {
    super(409, 'alipay_user_linked', '该支付宝账户已关联其他账号。');
  }
}

/** The account is already linked to another Alipay user (one Alipay user per account). */
export class AccountLinkedToOtherAlipay extends AppError {
  override name = 'AccountLinkedToOtherAlipay';
  constructor() {
    super(
      409,
      'account_alipay_linked',
      '该账号已关联其他支付宝账户。请使用已关联的支付宝账户登录，或登录后在用户空间解除绑定后再试。',
    );
  }
}

/** 解除绑定 would leave the account with Alipay as its only credential. */
export class AlipayUnlinkRefused extends AppError {
  override name = 'AlipayUnlinkRefused';
  constructor() {
    super(
      409,
      'alipay_unlink_refused',
      '您的账号尚未设置登录密码，解除绑定后将无法登录。请先通过“忘记密码”设置登录密码，再解除绑定。',
    );
  }
}

/** The round trip came back without its state, with another browser's, or after it expired. */
export class AlipayStateInvalid extends AppError {
  override name = 'AlipayStateInvalid';
  constructor() {
    super(400, 'alipay_state_invalid', '支付宝授权已过期或无效，请重新发起支付宝登录。');
  }
}

/** The person cancelled at Alipay, or Alipay came back without an auth_code. */
export class AlipayAuthorizationMissing extends AppError {
  override name = 'AlipayAuthorizationMissing';
  constructor() {
    super(400, 'alipay_not_authorized', '您未完成支付宝授权，请重新发起或使用其他方式登录。');
  }
}

/** Alipay refused the auth_code (isv.code-invalid): used already, or expired. */
export class AlipayCodeSpent extends AppError {
  override name = 'AlipayCodeSpent';
  constructor(options?: { cause?: unknown }) {
    super(
      400,
      'alipay_code_invalid',
      '支付宝授权已失效（授权码已使用或已过期），请重新发起支付宝登录。',
      options,
    );
  }
}
